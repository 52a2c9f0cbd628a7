# SPDX-License-Identifier: Apache-2.0
"""--syscalls full streams its log to the JSON file: cntrace's memory does not
grow with the length of the trace, the file is the whole log in the contract's
shape, and a cntrace that is killed or cannot write leaves nothing behind
(the log waits in an unlinked file next to the output until the rest of the
document is known)."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO
from tracer_support import CNTRACE, run_cntrace

SOURCE = Path(os.environ.get("CN_SOURCE_ROOT") or REPO) / "tests" / "programs" / "syscall_counter.c"
EXTRA = 77 + 33 + 21  # umask, close(-1), sched_yield after the getppid loop


@pytest.fixture(scope="module")
def counter(world):
    d = Path(tempfile.mkdtemp(prefix="cntrace-stream.", dir=world.dir))
    binary = d / "syscall_counter"
    subprocess.run(["gcc", "-O2", "-static", "-o", str(binary), str(SOURCE)], check=True)
    yield binary
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def outdir():
    d = Path(tempfile.mkdtemp(prefix="cntrace-stream-out."))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def traced_full(counter, n, out):
    """cntrace exec --syscalls full -o out -- counter n; returns (exit status, stderr, peak RSS of
    cntrace in KiB). The RSS is wait4's ru_maxrss as GNU time reports it: cntrace forked from a small
    process. (Spawned from here, even with posix_spawn, its maxrss would start at this pytest's: the
    kernel carries the high-water mark of the memory a process execs from into its own.)"""
    argv = ["/usr/bin/time", "-f", "maxrss=%M", str(CNTRACE), "exec", "-q", "--syscalls", "full", "-o", str(out),
            "--", str(counter), str(n)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=600, check=False)
    err = proc.stderr.decode(errors="replace")
    rss = re.search(r"^maxrss=(\d+)$", err, re.M)
    assert rss, "no maxrss from /usr/bin/time (Debian package time)\n%s" % err
    return proc.returncode, err, int(rss.group(1))


def scan(path):
    """What a streaming reader sees in the file, without holding it: the getppid entries of the
    log, whether "syscall_log" is the last member, and the tracer object (near the top)."""
    getppid = 0
    last_key = None
    head = b""
    with open(path, "rb") as f:
        for line in f:
            if len(head) < (256 << 10):
                head += line
            if line.startswith(b'  "'):
                last_key = line.split(b'"')[1]
            if line == b'      "name": "getppid",\n':
                getppid += 1
        f.seek(-16, os.SEEK_END)
        tail = f.read()
    tracer = re.search(rb'\n  "tracer": (\{.*?\n  \})', head, re.S)
    return getppid, last_key, json.loads(tracer.group(1)), tail


def test_full_log_streams_to_the_file_in_bounded_memory(counter, outdir):
    small, large = 20000, 400000  # the large one still fits the log ring: no loss, however busy the machine
    rc, err, rss_small = traced_full(counter, small, outdir / "small.json")
    assert rc == 0, err
    rc, err, rss_large = traced_full(counter, large, outdir / "large.json")
    assert rc == 0, err

    # the small one, read whole: valid JSON, the log the last member, every call in it
    with open(outdir / "small.json") as f:
        doc = json.load(f)
    assert list(doc)[-1] == "syscall_log" and doc["tracer"]["syscalls"] == "full"
    assert doc["tracer"]["lost_events"] == 0, doc["tracer"]["losses"]
    log = doc["syscall_log"]
    assert sum(1 for s in log if s["name"] == "getppid") == small
    assert [s["ts_ns"] for s in log] == sorted(s["ts_ns"] for s in log), "the log is in time order"
    assert set(log[0]) == {"ts_ns", "enter_ns", "pid", "tid", "stage", "phase", "name", "nr", "args", "ret"}

    # the large one, streamed through: 20 times the entries, every one of them, the same memory
    getppid, last_key, tracer, tail = scan(outdir / "large.json")
    assert tracer["lost_events"] == 0, tracer["losses"]
    assert getppid == large
    assert last_key == b"syscall_log" and tail.endswith(b"\n  ]\n}\n")
    size = (outdir / "large.json").stat().st_size
    assert size > 128 << 20, "a %d-byte log: too short to show anything" % size
    # kept in memory, 380k more entries were ~35 MiB of records and ~800 MiB of JSON objects
    assert rss_large - rss_small < 8 << 10, "cntrace's peak RSS grew from %d KiB to %d KiB with the log" % (
        rss_small, rss_large)
    assert rss_large < 64 << 10, "cntrace's peak RSS: %d KiB (%d KiB for the small one)" % (rss_large, rss_small)
    # and nothing but the two traces in their directory: the spools went with their fds
    assert sorted(p.name for p in outdir.iterdir()) == ["large.json", "small.json"]


def _spool_of(pid, directory):
    """(its /proc fd, its name) of the unlinked file cntrace pid holds in directory (its log spool),
    or None."""
    fd_dir = Path("/proc/%d/fd" % pid)
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory) + "/") and target.endswith("(deleted)"):
            return fd, target
    return None


def test_sigkilled_cntrace_leaves_no_log_and_no_trace(counter, outdir):
    out = outdir / "trace.json"
    argv = [str(CNTRACE), "exec", "-q", "--syscalls", "full", "-o", str(out), "--", str(counter), "50000000"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        spool = None
        while spool is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            spool = _spool_of(proc.pid, outdir)
        assert spool, "cntrace keeps no unlinked log spool next to its output"
        fd, spool = spool
        # the log is being written there while the launch runs
        deadline = time.monotonic() + 30
        while os.stat(fd).st_size < 1 << 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.stat(fd).st_size >= 1 << 20, "the spool %s does not grow" % spool
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert list(outdir.iterdir()) == [], "a killed cntrace left %s" % list(outdir.iterdir())


def test_full_log_to_an_unwritable_place_fails_before_the_launch(counter, outdir):
    marker = outdir / "ran"
    out = outdir / "no-such-dir" / "trace.json"
    res = run_cntrace("exec", "-q", "--syscalls", "full", "-o", str(out), "--", "/bin/sh", "-c",
                      "touch %s" % marker, output=False)
    assert res.rc == 125, res
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cntrace: cannot trace: ") and "no-such-dir" in lines[0], res
    assert not marker.exists(), "the launch ran though its log had nowhere to go"
    assert list(outdir.iterdir()) == []


def test_full_log_to_stdout_is_one_document(counter):
    argv = [str(CNTRACE), "exec", "-q", "--syscalls", "full", "-o", "-", "--", str(counter), "3000"]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc)[-1] == "syscall_log"
    assert sum(1 for s in doc["syscall_log"] if s["name"] == "getppid") == 3000
    assert sum(1 for s in doc["syscall_log"] if s["name"] in ("umask", "close", "sched_yield")) == EXTRA


def test_report_and_check_read_a_streamed_trace(counter, outdir):
    out = outdir / "trace.json"
    rc, err, _ = traced_full(counter, 5000, out)
    assert rc == 0, err
    rep = subprocess.run([str(CNTRACE), "report", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=60, check=False)
    assert rep.returncode == 0 and b"getppid" not in rep.stderr, rep.stderr
    chk = subprocess.run([str(CNTRACE), "check", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=60, check=False)
    assert chk.returncode in (0, 1), chk.stderr  # a verdict, not "bad input" (2)

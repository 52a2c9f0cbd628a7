# SPDX-License-Identifier: Apache-2.0
"""Syscall counts and the --syscalls full log are exact however they travel:
each thread counts (and logs) in its task storage and hands them over when its
stage or program image changes and when it exits (the log also every
CN_TR_LOG_BATCH entries, or when its oldest entry waited 2 ms); threads of one
process add up; a process still running when the trace ends has its counts and
its last entries read where they are; the log comes out in time order however
late a blocked thread handed its entries over."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO
from tracer_support import CNTRACE

SOURCE = Path(os.environ.get("CN_SOURCE_ROOT") or REPO) / "tests" / "programs" / "syscall_threads.c"


@pytest.fixture(scope="module")
def program(world):
    d = Path(tempfile.mkdtemp(prefix="cntrace-count.", dir=world.dir))
    binary = d / "syscall_threads"
    subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", str(binary), str(SOURCE)], check=True)
    yield binary
    shutil.rmtree(d, ignore_errors=True)


def counts(trace, pid):
    p = next(p for p in trace["processes"] if p["pid"] == pid)
    return {k: v["count"] for k, v in p["syscalls"].items()}


def test_threads_of_a_process_add_up_exactly(program, tmp_path):
    out = tmp_path / "trace.json"
    proc = subprocess.run([str(CNTRACE), "exec", "-q", "-o", str(out), "--", str(program), "8", "25000"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    trace = json.loads(out.read_text())
    assert trace["tracer"]["lost_events"] == 0, trace["tracer"]["losses"]
    root = trace["launch"]["pid"]
    c = counts(trace, root)
    assert c.get("getppid") == 8 * 25000 and c.get("getpid") == 25000, c
    assert next(p for p in trace["processes"] if p["pid"] == root)["threads"] == 8


def test_a_process_running_when_the_trace_ends_has_its_counts(program, tmp_path):
    out = tmp_path / "trace.json"
    pid_file = tmp_path / "pid"
    # the program runs in the background and outlives the launch's first process (and the linger)
    # (no fd of ours in it: the output pipes would stay open as long as it runs)
    script = ("%s 2 3000 hold > %s/ready 2>/dev/null < /dev/null & echo $! > %s; "
              "while ! grep -q ready %s/ready 2>/dev/null; do :; done") % (program, tmp_path, pid_file, tmp_path)
    proc = subprocess.run([str(CNTRACE), "exec", "-q", "--linger", "0.2", "-o", str(out), "--", "/bin/sh", "-c",
                           script], stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    held = int(pid_file.read_text())
    try:
        assert proc.returncode == 0, proc.stderr
        assert Path("/proc/%d" % held).exists(), "the held program is gone: the test shows nothing"
        trace = json.loads(out.read_text())
        assert not trace["tracer"]["complete"], "the trace should end with the program still running"
        c = counts(trace, held)
        # its threads exited (their counts were handed over); its main thread still holds its own
        assert c.get("getppid") == 2 * 3000, c
        assert c.get("getpid") == 3000, c
    finally:
        os.kill(held, signal.SIGKILL)


def log_of(trace, pid, name):
    return [e for e in trace["syscall_log"] if e["pid"] == pid and e["name"] == name]


def assert_in_time_order(log):
    keys = [(e["ts_ns"], e["tid"]) for e in log]
    late = [i for i in range(1, len(keys)) if keys[i] < keys[i - 1]]
    assert not late, "%d entries out of time order, first at %d: %s" % (len(late), late[0], log[late[0] - 1:late[0] + 1])


def test_full_log_has_every_syscall_in_time_order_across_batches(program, tmp_path):
    out = tmp_path / "trace.json"
    # the main thread logs a few syscalls, then blocks in pthread_join while two workers log 40000
    proc = subprocess.run([str(CNTRACE), "exec", "-q", "--syscalls", "full", "-o", str(out), "--", str(program),
                           "2", "20000"], stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    trace = json.loads(out.read_text())
    assert trace["tracer"]["lost_events"] == 0, trace["tracer"]["losses"]
    root = trace["launch"]["pid"]
    log = trace["syscall_log"]
    assert len(log_of(trace, root, "getppid")) == 2 * 20000
    assert len(log_of(trace, root, "getpid")) == 20000
    # the log is the counts, entry for entry
    assert len([e for e in log if e["pid"] == root]) == sum(counts(trace, root).values())
    assert_in_time_order(log)
    main = [e for e in log if e["tid"] == root]
    clones = [e for e in main if e["name"] in ("clone", "clone3")]
    assert len(clones) == 2, clones
    # what the main thread logged before it blocked (it handed it over after the storm) is where it belongs:
    # before the first worker's first entry, which comes after the first clone began
    first_worker = next(i for i, e in enumerate(log) if e["pid"] == root and e["tid"] != root)
    assert log.index(clones[0]) < first_worker
    assert clones[0]["enter_ns"] < log[first_worker]["ts_ns"]


def test_full_log_of_a_thread_running_when_the_trace_ends_is_read_where_it_is(program, tmp_path):
    out = tmp_path / "trace.json"
    pid_file = tmp_path / "pid"
    script = ("%s 1 100 hold > %s/ready 2>/dev/null < /dev/null & echo $! > %s; "
              "while ! grep -q ready %s/ready 2>/dev/null; do :; done") % (program, tmp_path, pid_file, tmp_path)
    proc = subprocess.run([str(CNTRACE), "exec", "-q", "--syscalls", "full", "--linger", "0.2", "-o", str(out), "--",
                           "/bin/sh", "-c", script], stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                          check=False)
    held = int(pid_file.read_text())
    try:
        assert proc.returncode == 0, proc.stderr
        trace = json.loads(out.read_text())
        assert not trace["tracer"]["complete"], "the trace should end with the program still running"
        # its last 100 getpid and its write of "ready" are fewer than a batch: still in its storage at the end
        assert len(log_of(trace, held, "getpid")) == 100
        assert len(log_of(trace, held, "write")) == 1
        assert len(log_of(trace, held, "getppid")) == 100
        assert_in_time_order(trace["syscall_log"])
    finally:
        os.kill(held, signal.SIGKILL)

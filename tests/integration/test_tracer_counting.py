# SPDX-License-Identifier: Apache-2.0
"""Syscall counts are exact however they travel: each thread counts its own
(in its task storage) and hands its counts over when its stage or program
image changes and when it exits; threads of one process add up; a process
still running when the trace ends has its counts read where they are."""

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

# SPDX-License-Identifier: Apache-2.0
"""Issue 3's exactness promises: a static program placed in the rootfs makes a
known number of getppid, failing openat and dup+close; the trace counts exactly
that, `strace -f -c` agrees, and a 1M-syscall storm loses nothing.

The counts are those of the container process (the pid that ran StartProcess),
summed over its stages[] entries. cnlaunch's own pre-exec code in StartProcess
and libc's start-up also make syscalls there, so each count is the difference
between a run with N calls and a run of the same program with 0: exact, no
">=" anywhere.
"""

import re
import subprocess

import pytest

from trace_fixtures import PROGRAM_IN_ROOTFS
from trace_fixtures import syscall_program, tracer  # noqa: F401 (pytest fixtures)

N = {"getppid": 1000, "openat": 500, "dup": 300, "close": 300}
ERRORS = {"getppid": 0, "openat": 500, "dup": 0, "close": 0}
STORM = 500000  # dd bs=1: one read and one write per byte, a million syscalls


def program_args(zero=False):
    return [PROGRAM_IN_ROOTFS] + (["0", "0", "0"] if zero else [str(N["getppid"]), str(N["openat"]),
                                                               str(N["dup"])])


def counted(t, names=tuple(N)):
    assert t.rc == 0, "the traced launch of the test program failed\n%s" % t
    lost = (t.json().get("tracer") or {}).get("lost_events")
    assert lost == 0, "tracer.lost_events is %r, want 0\n%s" % (lost, t)
    calls = t.syscalls_of_pid(t.container_pid())
    return {n: tuple(calls.get(n, [0, 0])) for n in names}


def delta(run, base):
    return {n: (run[n][0] - base[n][0], run[n][1] - base[n][1]) for n in run}


def expected():
    return {n: (N[n], ERRORS[n]) for n in N}


_deltas = {}


def traced_delta(tracer, syscall_program, flow_name, extra=()):
    key = (flow_name, tuple(extra))
    if key not in _deltas:
        rootfs = syscall_program.rootfs[flow_name]
        base = tracer.run(flow_name, program_args(zero=True), extra=extra, rootfs=rootfs, tag="base")
        run = tracer.run(flow_name, program_args(), extra=extra, rootfs=rootfs, tag="count")
        _deltas[key] = (delta(counted(run), counted(base)), run, base)
    return _deltas[key]


def strace_counts(argv):
    """{name: (calls, errors)} from `strace -f -c` of argv run directly."""
    p = subprocess.run(["strace", "-f", "-c", "-e", "trace=" + ",".join(N), "--"] + argv,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, "strace of %s failed (exit %d):\n%s" % (argv, p.returncode, err)
    out = {n: (0, 0) for n in N}
    for line in err.splitlines():
        f = line.split()
        # % time  seconds  usecs/call  calls  [errors]  syscall
        if len(f) in (5, 6) and f[-1] in N and re.fullmatch(r"[\d.]+", f[0]):
            out[f[-1]] = (int(f[3]), int(f[4]) if len(f) == 6 else 0)
    return out


@pytest.mark.parametrize("flow_name", ["root", "setuid", "userns"])
def test_flow_container_syscall_counts_are_exact(tracer, syscall_program, flow_name):
    got, run, _ = traced_delta(tracer, syscall_program, flow_name)
    assert got == expected(), \
        "container syscalls (count, errors) of the N run minus the 0 run: %s, want %s\n%s" % (
            got, expected(), run.layout())


def test_root_syscall_counts_agree_with_strace(tracer, syscall_program):
    host = str(syscall_program.host_path)
    with_n = strace_counts([host] + program_args()[1:])
    with_0 = strace_counts([host] + program_args(zero=True)[1:])
    straced = delta(with_n, with_0)
    assert straced == expected(), "strace -f -c counts the program differently: %s, want %s" % (
        straced, expected())
    traced, _, _ = traced_delta(tracer, syscall_program, "root")
    assert traced == straced, "cntrace %s and strace -f -c %s disagree" % (traced, straced)


def test_root_syscalls_full_keeps_the_exact_counts(tracer, syscall_program):
    got, run, _ = traced_delta(tracer, syscall_program, "root", extra=("--syscalls", "full"))
    assert got == expected(), "with --syscalls full: %s, want %s\n%s" % (got, expected(), run.layout())


def test_root_storm_of_a_million_syscalls_loses_nothing(tracer):
    t = tracer.run("root", ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=%d" % STORM],
                   tag="storm")
    assert t.rc == 0, "the storm's launch failed\n%s" % t
    lost = (t.json().get("tracer") or {}).get("lost_events")
    assert lost == 0, "tracer.lost_events is %r after the storm, want 0\n%s" % (lost, t)
    calls = t.syscalls_of_pid(t.container_pid())
    for name in ("read", "write"):
        count = calls.get(name, [0, 0])[0]
        # dd makes exactly STORM of each; busybox start-up and cnlaunch's pre-exec code add a few.
        assert STORM <= count <= STORM + 200, "the container made %d %s calls, the trace counts %d" % (
            STORM, name, count)
    events = (t.json().get("tracer") or {}).get("events")
    assert isinstance(events, int) and events > 0, "tracer.events is %r" % events

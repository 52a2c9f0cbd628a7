# SPDX-License-Identifier: Apache-2.0
"""The process features of issue 10 are visible in the trace, in the stage and
role that do them: the console, the priorities and the umask in STAGE2's
StartProcess, the pidfd handed over in the master's PostStartProcess."""

import os
import socket
import threading

import pytest

from tracer_support import traced_run

FLOWS = ("setuid", "userns", "root")


def stage_syscalls(res, stage, role):
    found = [s for s in res.stages if s["name"] == stage and s["role"] == role]
    assert found, "no %s stage of role %s\n%s" % (stage, role, res)
    return found[0]["syscalls"]


@pytest.mark.parametrize("flow", FLOWS)
def test_startprocess_shows_the_terminal_priority_and_umask(world, flow):
    res = traced_run(world, flow, ["/bin/true"], "--tty", "--nice", "5", "--ioprio", "idle", "--umask", "027")
    assert res.rc == 0, res
    calls = stage_syscalls(res, "StartProcess", "stage2")
    # the pty becomes the controlling terminal of a new session, and its master goes to the master
    for name in ("setsid", "ioctl", "dup2", "sendmsg", "sched_setattr", "ioprio_set", "umask"):
        assert calls.get(name, {}).get("count", 0) >= 1, "%s missing from StartProcess: %s" % (name, sorted(calls))


def test_without_the_features_startprocess_makes_none_of_those_calls(world):
    """The control: the calls above come from the options, not from every launch."""
    res = traced_run(world, "root", ["/bin/true"])
    assert res.rc == 0, res
    calls = stage_syscalls(res, "StartProcess", "stage2")
    for name in ("setsid", "sched_setattr", "ioprio_set"):
        assert name not in calls, "%s in a launch that did not ask for it" % name


@pytest.mark.parametrize("flow", FLOWS)
def test_poststartprocess_shows_the_pidfd_handed_over(world, flow, tmp_path_factory):
    d = world.user_dir("pidfd")
    path = str(d / "p.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 64, 1)
        got["payload"] = msg
        for fd in fds:
            os.close(fd)
        conn.close()
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        res = traced_run(world, flow, ["/bin/true"], "--pidfd-socket", path)
        t.join(10)
    finally:
        srv.close()
    assert res.rc == 0, res
    assert got.get("payload", b"").isdigit(), got
    calls = stage_syscalls(res, "PostStartProcess", "master")
    for name in ("connect", "sendmsg"):
        assert calls.get(name, {}).get("count", 0) >= 1, "%s missing from PostStartProcess: %s" % (name, sorted(calls))

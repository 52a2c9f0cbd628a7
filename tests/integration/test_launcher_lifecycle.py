# SPDX-License-Identifier: Apache-2.0
"""Exit status, signals, stdio and the pid file, in every flow."""

import os
import select
import signal
import time

import pytest

from conftest import container_init_pid, read_cmdline, read_nspid


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exit_status_is_the_containers(flow, code):
    res = flow.sh("exit %d" % code)
    assert res.rc == code, res


def test_command_not_found_exits_127(flow):
    res = flow.run(cmd=["/bin/no-such-command"])
    assert res.rc == 127, res
    assert "no-such-command" in res.err, res


def test_command_not_found_in_path_exits_127(flow):
    res = flow.run(cmd=["no-such-command"])
    assert res.rc == 127, res
    assert "no-such-command" in res.err, res


def test_command_not_executable_exits_126(flow):
    res = flow.run(cmd=["/etc/passwd"])
    assert res.rc == 126, res
    assert "/etc/passwd" in res.err, res


def test_stdio_is_the_callers(flow):
    res = flow.sh("cat; echo to-stderr >&2", input=b"from-stdin\n")
    assert res.ok() == "from-stdin\n"
    assert "to-stderr" in res.err


def _wait_for_line(p, want, timeout=10.0):
    """Read p.stdout until a line equal to want; raise if it does not come."""
    deadline = time.monotonic() + timeout
    seen = b""
    fd = p.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            if (want + "\n").encode() in seen:
                return
        if p.poll() is not None and not r:
            break
    raise AssertionError("container never printed %r (cnlaunch exit %s); stdout so far: %r"
                         % (want, p.poll(), seen))


def _abort(flow, p):
    """Kill cnlaunch after a failed check, still checking what it left behind."""
    p.kill()
    flow.wait_popen(p)


TRAPS = {signal.SIGTERM: 3, signal.SIGINT: 4, signal.SIGHUP: 5, signal.SIGUSR1: 6}


@pytest.mark.parametrize("sig", list(TRAPS), ids=lambda s: signal.Signals(s).name)
def test_signal_to_cnlaunch_is_forwarded_to_container(flow, sig):
    traps = "; ".join('trap "exit %d" %s' % (code, signal.Signals(s).name[3:]) for s, code in TRAPS.items())
    p = flow.popen(cmd=["/bin/sh", "-c", traps + "; echo ready; sleep 5 & wait"])
    try:
        _wait_for_line(p, "ready")
    except BaseException:
        _abort(flow, p)
        raise
    sent = time.monotonic()
    os.kill(p.pid, sig)
    res = flow.wait_popen(p)
    elapsed = time.monotonic() - sent
    assert res.rc == TRAPS[sig], "the container's trap for %s should have exited %d\n%s" % (
        signal.Signals(sig).name, TRAPS[sig], res)
    assert elapsed < 4.5, "exit took %.1f s: the signal was not forwarded promptly" % elapsed


def test_container_killed_by_signal_exits_128_plus_n(flow):
    # A pid-namespace init ignores signals it has no handler for unless they
    # come from an ancestor namespace, and even then only SIGKILL/SIGSTOP are
    # forced: so the container's pid 1 is killed from the host.
    p = flow.popen(cmd=["/bin/sleep", "30"])
    try:
        init = container_init_pid(p.pid, ["/bin/sleep", "30"])
        os.kill(init, signal.SIGKILL)
    except BaseException:
        _abort(flow, p)
        raise
    res = flow.wait_popen(p)
    assert res.rc == 128 + signal.SIGKILL, res


def test_pid_file_names_the_container_process(flow, world):
    pid_file = world.user_dir("pidfile") / "container.pid"
    p = flow.popen("--pid-file", pid_file, cmd=["/bin/sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline and p.poll() is None:
            if pid_file.exists():
                text = pid_file.read_text().strip()
                if text:
                    break
            time.sleep(0.02)
        assert text.isdigit(), "no pid in %s (content %r)" % (pid_file, text)
        pid = int(text)
        nspid = read_nspid(pid)
        assert nspid and len(nspid) >= 2 and nspid[-1] == 1, \
            "pid %d from the pid file is not the container's pid 1 (NSpid %s)" % (pid, nspid)
        assert read_cmdline(pid) == ["/bin/sleep", "30"], read_cmdline(pid)
        st = pid_file.stat()
        assert st.st_uid == flow.caller_uid, "the pid file must belong to the caller, not uid %d" % st.st_uid
        os.kill(pid, signal.SIGKILL)
    except BaseException:
        _abort(flow, p)
        raise
    res = flow.wait_popen(p)
    assert res.rc == 137, res


def test_pid_file_is_removed_after_exit(flow, world):
    # cnlaunch --help: "PostStartHost writes the container's host pid there; CleanupHost removes it".
    # A short-lived command races PostStartHost against CleanupHost: a few rounds make a
    # missing order show up every time instead of now and then.
    pid_file = world.user_dir("pidfile") / "container.pid"
    for attempt in range(1, 11):
        flow.run("--pid-file", pid_file, cmd=["/bin/true"]).ok()
        assert not pid_file.exists(), (
            "launch %d: %s is still there after cnlaunch exited (PostStartHost wrote it after "
            "CleanupHost ran, or CleanupHost did not remove it)" % (attempt, pid_file))


def test_default_rootfs_is_the_built_in_one(root, world):
    # no --rootfs: the busybox rootfs the build made (the same tree CN_ROOTFS names)
    out = root.run(cmd=["/bin/cat", "/etc/passwd"], rootfs=False).ok()
    assert out == (world.source_rootfs / "etc" / "passwd").read_text()

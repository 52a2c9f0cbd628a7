# SPDX-License-Identifier: Apache-2.0
"""The rest of the process model (issue 10, item 1): a pty as the console,
the pty master and a pidfd handed over unix sockets, preserved fds, umask,
CPU scheduling and I/O priority, supplementary groups.

Every value is read where a user would check it by hand: in the container
(tty, stty, umask, ionice, /proc/self/stat and status), or on the host from
the fds cnlaunch hands over.
"""

import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import (NOBODY, Status, _live_popens, container_init_pid, oci_config)

PTS_MAJOR = 136  # Documentation/admin-guide/devices.txt: Unix98 pty slaves

# /proc/PID/stat fields as proc(5) numbers them (from 1)
STAT_PID, STAT_PGRP, STAT_SESSION, STAT_TTY_NR, STAT_TPGID = 1, 5, 6, 7, 8
STAT_NICE, STAT_RT_PRIORITY, STAT_POLICY = 19, 40, 41
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5

BOTH_UNPRIVILEGED = pytest.mark.parametrize("flow", ["setuid", "userns"], indirect=True)
ROOT_ONLY = pytest.mark.parametrize("flow", ["root"], indirect=True)


def stat_fields(text):
    """/proc/PID/stat text -> {proc(5) field number: int}, numeric fields only (not comm, state)."""
    head, _, rest = text.strip().rpartition(")")
    fields = {STAT_PID: int(head.split(" (")[0])}
    for n, value in enumerate(rest.split(), start=3):
        if n != 3:
            fields[n] = int(value)
    return fields


def crlf(out):
    """What a tty printed, with its output newlines (ONLCR) back to plain ones."""
    return out.replace("\r\n", "\n")


def print_config(flow, *args, cmd):
    res = flow.run("--print-config", *args, cmd=list(cmd))
    try:
        return json.loads(res.ok())
    except ValueError as e:
        raise AssertionError("--print-config did not print JSON (%s)\n%s" % (e, res)) from None


def bundle_of(flow, cfg):
    cfg["root"]["path"] = "rootfs"  # relative: resolved against the bundle dir
    return flow.bundle(cfg)


def abort(flow, p):
    """Kill cnlaunch after a failed check, still checking what it left behind."""
    p.kill()
    try:
        flow.wait_popen(p)
    except AssertionError:
        pass


# ---------------------------------------------------------------- launching with extra fds


def popen_with(flow, *args, cmd, fds=None, groups=None, stdin=subprocess.DEVNULL, rootfs=True):
    """flow.popen, but the caller holds fds[n] as its fd n and no other fd above stderr,
    (groups) has these supplementary groups instead of none, and (stdin) this stdin;
    rootfs=False for an exec; finish with flow.wait_popen."""
    fds = fds or {}
    # Above every target first, so that placing one never overwrites another's source.
    high = {n: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 100) for n, src in fds.items()}
    place = " ".join("%d>&%d %d>&-" % (n, h, h) for n, h in sorted(high.items()))
    argv = flow.argv(args, cmd, rootfs=rootfs)
    caller = flow._caller(argv)
    if groups is not None:
        caller = [("--groups=" + ",".join(map(str, groups))) if a == "--clear-groups" else a for a in caller]
    before = flow.leftovers.snapshot(flow.caller_uid != 0)
    try:
        p = subprocess.Popen(["/bin/bash", "-c", "exec %s; exec \"$@\"" % place, "bash"] + caller,
                             stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=flow._env(), cwd=str(flow.world.dir), pass_fds=tuple(high.values()))
    finally:
        for h in high.values():
            os.close(h)
    p.cn_argv, p.cn_before = argv, before
    _live_popens.add(p.pid)
    return p


def run_with(flow, *args, cmd, fds=None, groups=None, rootfs=True):
    return flow.wait_popen(popen_with(flow, *args, cmd=cmd, fds=fds, groups=groups, rootfs=rootfs))


# ---------------------------------------------------------------- unix sockets that receive an fd


class Receiver:
    """A listening unix stream socket the flow's caller may connect to."""

    def __init__(self, flow, name):
        self.path = flow.world.user_dir("sock") / name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        if flow.caller_uid != 0:
            os.chown(self.path, NOBODY, NOBODY)  # connect(2) needs write permission on it
        self.sock.listen(1)

    def receive(self, timeout=10.0):
        """Accept one connection: (payload, [fds]) of its one message."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(timeout)
            msg, fds, _, _ = socket.recv_fds(conn, 256, 4)
        return msg, fds

    def nobody_connected(self):
        self.sock.setblocking(False)
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return True
        conn.close()
        return False

    def close(self):
        self.sock.close()
        if self.path.exists():
            self.path.unlink()


@pytest.fixture
def receiver(flow):
    made = []

    def make(name):
        made.append(Receiver(flow, name))
        return made[-1]
    yield make
    for r in made:
        r.close()


def read_until(fd, needle, seen=b"", timeout=10.0):
    """Read fd (a pty master, a pipe) until needle shows up in seen plus what is read; returns that."""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the last peer of the pty closed
                raise
            chunk = b""
        if not chunk:
            break
        seen += chunk
    assert needle in seen, "never read %r from fd %d; got %r" % (needle, fd, seen)
    return seen


# ---------------------------------------------------------------- 1. a terminal


def test_tty_is_the_containers_pts_0(flow):
    assert flow.run("-t", cmd=["/bin/tty"]).ok() == "/dev/pts/0\r\n"


def test_tty_is_stdin_stdout_and_stderr(flow):
    script = "test -t 0 -a -t 1 -a -t 2 && echo all-three; for n in 0 1 2; do readlink /proc/self/fd/$n; done"
    assert crlf(flow.sh(script, "-t").ok()).split() == ["all-three"] + ["/dev/pts/0"] * 3


def test_without_tty_stdio_is_no_terminal(flow):
    # the counter-check: the tests above would pass on any run that happened to have a tty
    assert flow.sh("test -t 0 || test -t 1 || test -t 2 || echo none").ok() == "none\n"


def test_console_size_option(flow):
    assert flow.run("-t", "--console-size", "31x107", cmd=["/bin/stty", "size"]).ok() == "31 107\r\n"


def test_console_size_from_a_bundle(flow):
    cfg = print_config(flow, cmd=["/bin/sh", "-c", "tty; stty size"])
    assert cfg["process"].get("terminal") is False, cfg["process"]
    cfg["process"]["terminal"] = True
    cfg["process"]["consoleSize"] = {"height": 33, "width": 111}
    out = flow.run("--bundle", bundle_of(flow, cfg), rootfs=False).ok()
    assert crlf(out) == "/dev/pts/0\n33 111\n"


def test_root_oci_config_terminal_and_console_size(root):
    cfg = oci_config(["/bin/sh", "-c", "tty; stty size"], terminal=True, consoleSize={"height": 12, "width": 34})
    out = root.run("--bundle", root.bundle(cfg), rootfs=False).ok()
    assert crlf(out) == "/dev/pts/0\n12 34\n"


def test_piped_input_reaches_the_command_and_its_end_ends_the_launch(flow):
    res = flow.run("-t", cmd=["/bin/cat"], input=b"hello\n")
    # the tty echoes the line, then cat prints it; the end of the pipe is the tty's EOF for cat
    assert res.ok() == "hello\r\nhello\r\n", res


def test_exit_status_passes_through_a_tty(flow):
    res = flow.sh("exit 3", "-t")
    assert res.rc == 3, res


def test_pty_belongs_to_the_process_user(flow):
    out = crlf(flow.sh("id -u; stat -L -c %u /proc/self/fd/0", "-t").ok()).split()
    want = "0" if flow.name == "root" else str(NOBODY)
    assert out == [want, want], "uid of the process, then owner of its pty: %s" % out


@pytest.mark.parametrize("flow, user, uid", [("root", "1000:1000", 1000), ("userns", "0", 0)],
                         indirect=["flow"])
def test_pty_belongs_to_the_chosen_user(flow, user, uid):
    out = crlf(flow.sh("id -u; stat -L -c %u /proc/self/fd/0", "-t", "--user", user).ok()).split()
    assert out == [str(uid), str(uid)], "uid of the process, then owner of its pty: %s" % out


def test_process_leads_a_session_whose_controlling_tty_is_the_pty(flow):
    st = stat_fields(crlf(flow.run("-t", cmd=["/bin/cat", "/proc/self/stat"]).ok()))
    pid = st[STAT_PID]
    assert st[STAT_SESSION] == pid, "not a session leader: %s" % st
    assert st[STAT_PGRP] == pid and st[STAT_TPGID] == pid, "not the terminal's foreground group: %s" % st
    assert st[STAT_TTY_NR] == os.makedev(PTS_MAJOR, 0), "controlling tty is not pts 0: %s" % st


def test_tty_without_devpts_is_refused(flow):
    cfg = print_config(flow, "-t", cmd=["/bin/tty"])
    mounts = [m for m in cfg["mounts"] if m["destination"] != "/dev/pts"]
    assert len(mounts) == len(cfg["mounts"]) - 1, cfg["mounts"]
    cfg["mounts"] = mounts
    flow.run("--bundle", bundle_of(flow, cfg), rootfs=False).refused("process.terminal", "/dev/pts")


# The caller on a terminal: cnlaunch puts it in raw mode, so every key reaches the
# container's own line discipline, follows its size, and restores it at the end.


@pytest.fixture
def caller_tty():
    """A host pty for cnlaunch's stdin: (master, slave), sized 40x90."""
    master, slave = os.openpty()
    set_size(slave, 40, 90)
    yield master, slave
    os.close(master)
    os.close(slave)


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_command_starts_with_the_callers_terminal_size(flow, caller_tty):
    # The size must be the pty's before the command runs, not be set while it runs:
    # a few rounds make a late resize show up every time instead of now and then.
    for attempt in range(1, 31):
        res = flow.wait_popen(popen_with(flow, "-t", cmd=["/bin/stty", "size"], stdin=caller_tty[1]))
        assert res.ok() == "40 90\r\n", "launch %d: the command did not start with the caller's size\n%s" % (
            attempt, res)


def test_console_size_option_wins_over_the_callers_terminal(flow, caller_tty):
    # --help: "--console-size ROWSxCOLS  the pty's size (default: the caller's terminal's)".
    # `read` first: the size is read once cnlaunch relays, after anything it does at the start.
    master, slave = caller_tty
    os.write(master, b"\r")
    res = flow.wait_popen(popen_with(flow, "-t", "--console-size", "31x107",
                                     cmd=["/bin/sh", "-c", "read x; stty size"], stdin=slave))
    assert crlf(res.ok()).split() == ["31", "107"], res


def test_callers_terminal_is_raw_during_the_launch_and_restored_after(flow, caller_tty):
    master, slave = caller_tty
    before = termios.tcgetattr(slave)
    script = 'echo ready; read x; echo "got:$x"; sleep 30; echo not-interrupted'
    p = popen_with(flow, "-t", cmd=["/bin/sh", "-c", script], stdin=slave)
    out = p.stdout.fileno()
    try:
        seen = read_until(out, b"ready\r\n")
        lflag = termios.tcgetattr(slave)[3]
        assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG), "the caller's tty is not raw"
        # no newline yet: only a raw caller's tty lets cnlaunch read these, to be echoed by the container's
        os.write(master, b"abc")
        seen = read_until(out, b"abc", seen)
        os.write(master, b"\r")
        seen = read_until(out, b"got:abc\r\n", seen)
        # ^C is the container's: its tty echoes it and interrupts the script
        os.write(master, b"\x03")
        read_until(out, b"^C", seen)
    except BaseException:
        abort(flow, p)
        raise
    res = flow.wait_popen(p, timeout=5)
    assert res.rc == 128 + signal.SIGINT, res
    assert termios.tcgetattr(slave) == before, "cnlaunch did not restore the caller's terminal"


def get_size(fd):
    return struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]


def test_console_follows_the_callers_terminal_size(flow, caller_tty):
    master, slave = caller_tty
    argv = ["/bin/sh", "-c", "read x; stty size; read x; stty size"]
    p = popen_with(flow, "-t", cmd=argv, stdin=slave)
    out = p.stdout.fileno()
    try:
        os.write(master, b"\r")
        seen = read_until(out, b"40 90\r\n")
        # the container's pty, seen from the host
        pts = os.open("/proc/%d/fd/0" % container_init_pid(p.pid, argv), os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            set_size(slave, 50, 100)
            os.kill(p.pid, signal.SIGWINCH)  # what the kernel sends the terminal's foreground group
            # poll(2) may report a key typed after the signal first: wait for the resize, then type
            deadline = time.monotonic() + 5
            while get_size(pts) != (50, 100) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert get_size(pts) == (50, 100), "the container's pty did not follow: %s" % (get_size(pts),)
        finally:
            os.close(pts)
        os.write(master, b"\r")
        read_until(out, b"50 100\r\n", seen)
    except BaseException:
        abort(flow, p)
        raise
    assert flow.wait_popen(p).rc == 0


@pytest.mark.parametrize("size", ["0x80", "24x0", "24", "24x80x1", "x80", "24x65536", "-1x80"])
def test_bad_console_size_is_refused(flow, size):
    flow.run("-t", "--console-size", size, cmd=["/bin/true"]).refused("--console-size")


# ---------------------------------------------------------------- 2. --console-socket


def test_console_socket_receives_the_pty_master(flow, receiver):
    r = receiver("console.sock")
    p = flow.popen("-t", "--console-socket", r.path,
                   cmd=["/bin/sh", "-c", 'read line; echo "got:$line"; exit 7'])
    master = None
    try:
        payload, fds = r.receive()
        assert payload == b"/dev/pts/0", payload
        assert len(fds) == 1, fds
        master = fds[0]
        assert os.isatty(master)
        os.write(master, b"from-host\n")
        read_until(master, b"got:from-host")
    except BaseException:
        abort(flow, p)
        raise
    finally:
        if master is not None:
            os.close(master)
    res = flow.wait_popen(p)
    assert res.rc == 7, res
    assert res.out == "", "with --console-socket cnlaunch must not relay the console\n%s" % res


def test_console_socket_without_a_terminal_is_refused(flow, receiver):
    r = receiver("console.sock")
    flow.run("--console-socket", r.path, cmd=["/bin/true"]).refused("--console-socket", ("--tty", "terminal"))
    assert r.nobody_connected()


def test_console_socket_that_does_not_exist_is_refused(flow):
    missing = flow.world.user_dir("sock") / "missing.sock"
    flow.run("-t", "--console-socket", missing, cmd=["/bin/true"]).refused("--console-socket", str(missing))


@pytest.mark.parametrize("option", ["--console-socket", "--pidfd-socket"])
def test_setuid_connects_to_the_socket_with_the_callers_rights(setuid, world, option):
    # root-owned srwxr-xr-x: root could connect, uid 65534 cannot
    d = world.user_dir("sock")
    path = d / "root-only.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o755)
        sock.listen(1)
        sock.setblocking(False)
        tty = ["-t"] if option == "--console-socket" else []
        setuid.run(*tty, option, path, cmd=["/bin/true"]).refused(option, str(path))
        with pytest.raises(BlockingIOError):
            sock.accept()[0].close()
    finally:
        sock.close()
        path.unlink()


# ---------------------------------------------------------------- 3. --pidfd-socket


def pidfd_pid(fd):
    with open("/proc/self/fdinfo/%d" % fd) as f:
        for line in f:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise AssertionError("fd %d is not a pidfd (no Pid: in its fdinfo)" % fd)


def test_pidfd_socket_receives_a_pidfd_of_the_container(flow, receiver):
    r = receiver("pidfd.sock")
    pid_file = flow.world.user_dir("pidfile") / "container.pid"
    argv = ["/bin/sleep", "30"]
    p = flow.popen("--pidfd-socket", r.path, "--pid-file", pid_file, cmd=argv)
    pidfd = None
    try:
        payload, fds = r.receive()
        assert len(fds) == 1, fds
        pidfd = fds[0]
        assert payload.isdigit(), payload
        pid = int(payload)
        assert pidfd_pid(pidfd) == pid, "the pidfd is of pid %d, the payload says %d" % (pidfd_pid(pidfd), pid)
        assert container_init_pid(p.pid, argv) == pid, "payload %d is not the container's process" % pid
        # PostStartHost writes the pid file after PostStartProcess sent the pidfd
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pid_file.read_text().strip() == str(pid), "the pid file names another process"
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except BaseException:
        abort(flow, p)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
    res = flow.wait_popen(p)
    assert res.rc == 128 + signal.SIGKILL, res


def test_sigterm_through_the_pidfd_ends_a_container_without_pid_namespace(root):
    # A pid namespace's init ignores SIGTERM it has no handler for, even from the host:
    # without a pid namespace the command dies of it and cnlaunch reports 128+15.
    r = Receiver(root, "pidfd.sock")
    cfg = oci_config(["/bin/sleep", "30"])
    cfg["linux"]["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "pid"]
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/proc"]
    p = root.popen("--bundle", root.bundle(cfg), "--pidfd-socket", r.path, rootfs=False)
    pidfd = None
    try:
        payload, fds = r.receive()
        pidfd = fds[0]
        assert pidfd_pid(pidfd) == int(payload)
        assert open("/proc/%s/cmdline" % int(payload), "rb").read() == b"/bin/sleep\x0030\x00"
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    except BaseException:
        abort(root, p)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
        r.close()
    res = root.wait_popen(p, timeout=10)
    assert res.rc == 128 + signal.SIGTERM, res


def test_pidfd_socket_that_does_not_exist_is_refused(flow):
    missing = flow.world.user_dir("sock") / "missing.sock"
    flow.run("--pidfd-socket", missing, cmd=["/bin/sleep", "5"]).refused("--pidfd-socket", str(missing))


# ---------------------------------------------------------------- 4. --preserve-fds


@pytest.fixture
def pipe():
    r, w = os.pipe2(os.O_CLOEXEC)
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.parametrize("n", [0, 1, 2])
def test_preserve_fds_passes_exactly_fds_3_to_3_plus_n(flow, n, pipe):
    # The caller holds 3, 4, 5 and 7 (a gap at 6); ls's own directory fd is the lowest free one.
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        res = run_with(flow, "--preserve-fds", n, cmd=["/bin/ls", "/proc/self/fd"],
                       fds={3: pipe[1], 4: null, 5: null, 7: null})
    finally:
        os.close(null)
    got = sorted(int(x) for x in res.ok().split())
    assert got == list(range(3 + n + 1)), \
        "want 0,1,2, the %d preserved and ls's own directory fd %d; got %s" % (n, 3 + n, got)


def test_preserved_fds_are_the_callers(flow, pipe, tmp_path):
    target = tmp_path / "fd4.txt"
    target.write_text("")
    out = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    r, w = pipe
    try:
        res = run_with(flow, "--preserve-fds", 2, cmd=["/bin/sh", "-c", "echo via-3 >&3; echo via-4 >&4"],
                       fds={3: w, 4: out})
    finally:
        os.close(out)
    os.close(w)
    res.ok()
    assert os.read(r, 100) == b"via-3\n"
    assert os.read(r, 100) == b"", "someone still holds the pipe's write end"
    assert target.read_text() == "via-4\n"


def test_preserved_pipe_ends_when_the_container_closes_it(flow, pipe):
    # The launcher's processes close their copies once the container holds the fd,
    # so the reader sees EOF while cnlaunch still runs.
    r, w = pipe
    argv = ["/bin/sleep", "30"]
    p = popen_with(flow, "--preserve-fds", 1, cmd=["/bin/sh", "-c", "echo up >&3; exec 3>&-; exec /bin/sleep 30"],
                   fds={3: w})
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 10)
        assert ready and os.read(r, 100) == b"up\n", "the container never wrote to fd 3"
        ready, _, _ = select.select([r], [], [], 5)
        assert ready, "fd 3's pipe did not end: a launcher process still holds a copy of it"
        assert os.read(r, 100) == b"", "unexpected data on fd 3"
        assert p.poll() is None, "cnlaunch ended early: %s" % p.returncode
        os.kill(container_init_pid(p.pid, argv), signal.SIGKILL)
    except BaseException:
        abort(flow, p)
        raise
    res = flow.wait_popen(p)
    assert res.rc == 128 + signal.SIGKILL, res


def test_preserve_fds_with_a_gap_is_refused(flow, pipe):
    res = run_with(flow, "--preserve-fds", 2, cmd=["/bin/true"], fds={3: pipe[1]})
    res.refused("--preserve-fds 2: fd 4 is not open")


@pytest.mark.parametrize("n", ["-1", "x", "65537", ""])
def test_bad_preserve_fds_is_refused(flow, n):
    flow.run("--preserve-fds", n, cmd=["/bin/true"]).refused("--preserve-fds")


# ---------------------------------------------------------------- 5. umask

UMASK_PROBE = "umask; f=/tmp/cn-umask.$$; touch $f; mkdir $f.d; stat -c %a $f $f.d; rm -r $f $f.d"


def test_default_umask_is_0022(flow):
    assert flow.sh(UMASK_PROBE).ok().split() == ["0022", "644", "755"]


def test_umask_option(flow):
    assert flow.sh(UMASK_PROBE, "--umask", "077").ok().split() == ["0077", "600", "700"]


def test_umask_from_config(flow):
    cfg = print_config(flow, cmd=["/bin/sh", "-c", UMASK_PROBE])
    cfg["process"]["user"]["umask"] = 0o27
    assert flow.run("--bundle", bundle_of(flow, cfg), rootfs=False).ok().split() == ["0027", "640", "750"]


def test_root_oci_config_umask(root):
    cfg = oci_config(["/bin/sh", "-c", UMASK_PROBE])
    cfg["process"]["user"]["umask"] = 0o77
    assert root.run("--bundle", root.bundle(cfg), rootfs=False).ok().split() == ["0077", "600", "700"]


@pytest.mark.parametrize("mask", ["999", "1000", "abc", "-1", ""])
def test_bad_umask_is_refused(flow, mask):
    flow.run("--umask", mask, cmd=["/bin/true"]).refused("--umask")


@pytest.mark.parametrize("mask", [512, -1, "077"])
def test_bad_config_umask_is_refused(root, mask):
    cfg = oci_config(["/bin/true"])
    cfg["process"]["user"]["umask"] = mask
    root.run("--bundle", root.bundle(cfg), rootfs=False).refused("process.user.umask")


# ---------------------------------------------------------------- 6. scheduler and I/O priority


def sched_of(flow, *args, **kw):
    return stat_fields(flow.run(*args, cmd=["/bin/cat", "/proc/self/stat"], **kw).ok())


def test_default_scheduling_is_other_nice_0(flow):
    st = sched_of(flow)
    assert (st[STAT_POLICY], st[STAT_NICE], st[STAT_RT_PRIORITY]) == (SCHED_OTHER, 0, 0), st


def test_nice_option(flow):
    assert sched_of(flow, "--nice", "5")[STAT_NICE] == 5


@pytest.mark.parametrize("policy, number", [("batch", SCHED_BATCH), ("idle", SCHED_IDLE),
                                            ("other", SCHED_OTHER)])
def test_scheduler_option(flow, policy, number):
    st = sched_of(flow, "--scheduler", policy)
    assert (st[STAT_POLICY], st[STAT_RT_PRIORITY]) == (number, 0), st


@pytest.mark.parametrize("ioprio, shown", [("idle", "idle"), ("be:6", "best-effort: prio 6"),
                                           ("be", "best-effort: prio 4")])
def test_ioprio_option(flow, ioprio, shown):
    assert flow.sh("ionice -p $$", "--ioprio", ioprio).ok() == shown + "\n"


def test_ioprio_seen_from_the_host(flow):
    argv = ["/bin/sleep", "30"]
    p = flow.popen("--ioprio", "idle", cmd=argv)
    try:
        pid = container_init_pid(p.pid, argv)
        shown = subprocess.run(["ionice", "-p", str(pid)], stdout=subprocess.PIPE, check=True).stdout
        assert shown == b"idle\n", shown
        os.kill(pid, signal.SIGKILL)
    except BaseException:
        abort(flow, p)
        raise
    assert flow.wait_popen(p).rc == 137


@ROOT_ONLY
@pytest.mark.parametrize("sched, policy, prio", [("fifo:10", SCHED_FIFO, 10), ("rr:5", SCHED_RR, 5),
                                                 ("fifo:99", SCHED_FIFO, 99)])
def test_root_realtime_scheduler(flow, sched, policy, prio):
    st = sched_of(flow, "--scheduler", sched)
    assert (st[STAT_POLICY], st[STAT_RT_PRIORITY]) == (policy, prio), st


def test_root_may_raise_priorities(root):
    out = root.sh("ionice -p $$; cat /proc/self/stat", "--nice", "-5", "--ioprio", "rt:2").ok()
    shown, _, stat = out.partition("\n")
    assert shown == "realtime: prio 2"
    assert stat_fields(stat)[STAT_NICE] == -5


@BOTH_UNPRIVILEGED
@pytest.mark.parametrize("args, names", [
    (["--scheduler", "fifo:10"], ("process.scheduler", "sched_setattr")),
    (["--scheduler", "rr:1"], ("process.scheduler", "sched_setattr")),
    (["--nice", "-5"], ("process.scheduler", "sched_setattr")),
    (["--ioprio", "rt"], ("process.ioPriority", "ioprio_set")),
    (["--ioprio", "rt:7"], ("process.ioPriority", "ioprio_set")),
    # the container's rlimits cannot open the way either
    (["--rlimit", "rtprio=99:99", "--scheduler", "fifo:10"], ("--rlimit", "process.rlimits", "setrlimit")),
    (["--rlimit", "nice=40:40", "--nice", "-5"], ("--rlimit", "process.rlimits", "setrlimit")),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_unprivileged_flows_may_not_raise_priorities(flow, args, names):
    # a setuid or userns caller gets what its own rights (no CAP_SYS_NICE) allow, never root's
    flow.run(*args, cmd=["/bin/true"]).refused(names)


def test_userns_root_may_not_raise_priorities_either(userns):
    # root of a new user namespace holds CAP_SYS_NICE there, which the scheduler does not honour
    userns.run("--user", "0", "--nice", "-5", cmd=["/bin/true"]).refused(("process.scheduler", "sched_setattr"))
    userns.run("--user", "0", "--ioprio", "rt", cmd=["/bin/true"]).refused(("process.ioPriority", "ioprio_set"))


@pytest.mark.parametrize("args", [["--scheduler", "nope"], ["--scheduler", "fifo:100"], ["--scheduler", "rr:x"],
                                  ["--nice", "20"], ["--nice", "-21"], ["--nice", "x"], ["--ioprio", "nope"],
                                  ["--ioprio", "be:8"], ["--ioprio", "be:-1"]],
                         ids=" ".join)
def test_bad_scheduling_option_is_refused(flow, args):
    flow.run(*args, cmd=["/bin/true"]).refused(args[0])


@pytest.mark.parametrize("sched, io, want", [
    ({"policy": "SCHED_BATCH", "nice": 3}, {"class": "IOPRIO_CLASS_IDLE"},
     {STAT_POLICY: SCHED_BATCH, STAT_NICE: 3, STAT_RT_PRIORITY: 0, "io": "idle"}),
    ({"policy": "SCHED_FIFO", "priority": 7}, {"class": "IOPRIO_CLASS_RT", "priority": 3},
     {STAT_POLICY: SCHED_FIFO, STAT_NICE: 0, STAT_RT_PRIORITY: 7, "io": "realtime: prio 3"}),
    ({"policy": "SCHED_OTHER", "nice": -7}, {"class": "IOPRIO_CLASS_BE", "priority": 1},
     {STAT_POLICY: SCHED_OTHER, STAT_NICE: -7, STAT_RT_PRIORITY: 0, "io": "best-effort: prio 1"}),
], ids=["batch-idle", "fifo-rt", "other-be"])
def test_root_oci_config_scheduler_and_io_priority(root, sched, io, want):
    cfg = oci_config(["/bin/sh", "-c", "ionice -p $$; cat /proc/self/stat"], scheduler=sched, ioPriority=io)
    shown, _, stat = root.run("--bundle", root.bundle(cfg), rootfs=False).ok().partition("\n")
    st = stat_fields(stat)
    assert shown == want.pop("io")
    assert {k: st[k] for k in want} == want, st


def test_root_oci_config_scheduler_flags_are_applied(root):
    # SCHED_FLAG_RESET_ON_FORK: the shell runs FIFO, the child it forks does not
    # (the "exit" keeps the shell from exec-ing the last cat itself)
    cfg = oci_config(["/bin/sh", "-c", "cat /proc/$$/stat; cat /proc/self/stat; exit 0"],
                     scheduler={"policy": "SCHED_FIFO", "priority": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]})
    shell, child = root.run("--bundle", root.bundle(cfg), rootfs=False).ok().splitlines()
    assert stat_fields(shell)[STAT_POLICY] == SCHED_FIFO, shell
    assert stat_fields(child)[STAT_POLICY] == SCHED_OTHER, "reset-on-fork was not applied: %s" % child


@pytest.mark.parametrize("field, value, path", [
    ("scheduler", {"policy": "SCHED_NOPE"}, "process.scheduler.policy"),
    ("scheduler", {"nice": 1}, "process.scheduler.policy"),
    ("scheduler", {"policy": 1}, "process.scheduler.policy"),
    ("scheduler", {"policy": "SCHED_FIFO", "priority": 100}, "process.scheduler.priority"),
    ("scheduler", {"policy": "SCHED_OTHER", "nice": 20}, "process.scheduler.nice"),
    ("scheduler", {"policy": "SCHED_OTHER", "nice": -21}, "process.scheduler.nice"),
    ("scheduler", {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_NOPE"]}, "process.scheduler.flags"),
    ("scheduler", {"policy": "SCHED_OTHER", "flags": "SCHED_FLAG_RECLAIM"}, "process.scheduler.flags"),
    ("scheduler", "SCHED_FIFO", "process.scheduler"),
    ("ioPriority", {"class": "IOPRIO_CLASS_NOPE"}, "process.ioPriority.class"),
    ("ioPriority", {"priority": 1}, "process.ioPriority.class"),
    ("ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": 8}, "process.ioPriority.priority"),
    ("ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": -1}, "process.ioPriority.priority"),
    ("terminal", "yes", "process.terminal"),
    ("consoleSize", {"height": -1, "width": 80}, "process.consoleSize.height"),
    ("consoleSize", {"height": 24, "width": 65536}, "process.consoleSize.width"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("process") else None)
def test_bad_process_field_in_config_is_refused(root, field, value, path):
    cfg = oci_config(["/bin/true"])
    cfg["process"][field] = value
    root.run("--bundle", root.bundle(cfg), rootfs=False).refused(path)


# ---------------------------------------------------------------- 7. --group-add


def test_root_group_add(root):
    st = root.status("--group-add", "10", "--group-add", "20")
    assert st.groups() == [10, 20], st["Groups"]


def test_root_group_add_survives_the_drop_to_another_user(root):
    st = root.status("--user", "1000:1000", "--group-add", "10", "--group-add", "20")
    assert st.ids("Uid") == [1000] * 4
    assert st.groups() == [10, 20], st["Groups"]


def test_setuid_group_add_of_a_group_the_caller_is_not_in_is_refused(setuid):
    setuid.run("--group-add", "10", cmd=["/bin/true"]).refused(("process.user.additionalGids", "--group-add"))


def test_setuid_group_add_of_the_callers_own_group_is_granted(setuid):
    st = Status.parse(run_with(setuid, "--group-add", "20", cmd=["/bin/cat", "/proc/self/status"],
                               groups=[20, 30]).ok())
    assert st.groups() == [20], st["Groups"]


def test_setuid_group_add_of_another_group_beside_the_callers_is_refused(setuid):
    run_with(setuid, "--group-add", "20", "--group-add", "10", cmd=["/bin/true"],
             groups=[20, 30]).refused(("process.user.additionalGids", "--group-add"), "10")


def test_userns_group_add_is_refused(userns):
    userns.run("--group-add", "10", cmd=["/bin/true"]).refused(
        ("process.user.additionalGids", "--group-add"))


@pytest.mark.parametrize("gid", ["abc", "-1", "4294967295", ""])
def test_bad_group_add_is_refused(flow, gid):
    flow.run("--group-add", gid, cmd=["/bin/true"]).refused("--group-add")


# ---------------------------------------------------------------- 8. --print-config


ROUND_TRIP_PROBE = ("tty; stty size; umask; ionice -p $$; set -- $(sed 's/.*) //' /proc/$$/stat); "
                    "echo nice=${17} rtprio=${38} policy=${39}; grep Groups /proc/$$/status")


def round_trip_options(flow):
    opts = ["-t", "--console-size", "21x73", "--umask", "027", "--scheduler", "batch", "--nice", "4",
            "--ioprio", "be:6"]
    return opts + (["--group-add", "10", "--group-add", "20"] if flow.name == "root" else [])


def test_print_config_shows_the_process_fields(flow):
    cfg = print_config(flow, *round_trip_options(flow), cmd=["/bin/true"])
    proc = cfg["process"]
    assert proc["terminal"] is True
    assert proc["consoleSize"] == {"height": 21, "width": 73}
    assert proc["user"]["umask"] == 0o27
    assert proc["scheduler"]["policy"] == "SCHED_BATCH" and proc["scheduler"]["nice"] == 4, proc["scheduler"]
    assert proc["ioPriority"] == {"class": "IOPRIO_CLASS_BE", "priority": 6}
    if flow.name == "root":
        assert proc["user"]["additionalGids"] == [10, 20]


def test_print_config_round_trips_the_process_fields(flow):
    opts = round_trip_options(flow)
    direct = crlf(flow.sh(ROUND_TRIP_PROBE, *opts).ok())
    groups = "10 20" if flow.name == "root" else ""
    assert [line.rstrip() for line in direct.split("\n")] == [
        "/dev/pts/0", "21 73", "0027", "best-effort: prio 6", "nice=4 rtprio=0 policy=%d" % SCHED_BATCH,
        ("Groups:\t" + groups).rstrip(), ""], direct
    cfg = print_config(flow, *opts, cmd=["/bin/sh", "-c", ROUND_TRIP_PROBE])
    via_bundle = crlf(flow.run("--bundle", bundle_of(flow, cfg), rootfs=False).ok())
    assert via_bundle == direct

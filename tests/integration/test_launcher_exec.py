# SPDX-License-Identifier: Apache-2.0
"""cnlaunch exec: a command run in a container launched with --id, in the setuid, userns and
root flows, on real launches. Each test starts a long-running container (`sleep`) with --id
and checks what a user would check by hand: what the exec'd command sees (/proc/self/status,
its namespaces and cgroups against the container's own process, read from the host), its exit
status, the signals it gets, the state file under /run/cnlaunch (or the caller's runtime
directory in the userns flow) while the container runs and after, and the refusals: another
user's container, a process that is no container of the caller's, a duplicate or unknown id.

The attacks on the joined process while it is still cnlaunch use cnlaunch-breach, whose
$CN_BREACH_EXEC makes the joined process stop itself as it enters StartProcess ("pause") or
leaves it dumpable ("dumpable"): production code carries no hook.
"""
import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import NOBODY, REPO, Status, descendants, read_cmdline, read_nspid
from test_launcher_process import PTS_MAJOR, Receiver, crlf, pidfd_pid, popen_with, read_until, run_with

STATE_DIR = Path("/run/cnlaunch")
BUILD = Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build")
BREACH = Path(os.environ.get("CNLAUNCH_BREACH") or BUILD / "tests" / "breach" / "cnlaunch-breach")
NAMESPACES = ("mnt", "pid", "uts", "ipc", "net", "user", "cgroup")
SLEEP = ("sleep", "1000")
PROC_SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["syslog"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


@pytest.fixture(autouse=True)
def runtime_dir(world, monkeypatch):
    """The userns flow keeps its state in $XDG_RUNTIME_DIR/cnlaunch: a 0700 dir of 65534's."""
    d = world.dir / "xdg-runtime-65534"
    if not d.exists():
        d.mkdir(mode=0o700)
        os.chown(d, NOBODY, NOBODY)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d))
    return d


def state_path(flow, name):
    if flow.name == "userns":
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "cnlaunch" / (name + ".json")
    return STATE_DIR / (name + ".json")


def new_id():
    return "it-exec-" + uuid.uuid4().hex[:12]


def read_state(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Container:
    def __init__(self, flow, name, popen):
        self.flow, self.name, self.popen = flow, name, popen
        self.state_path = state_path(flow, name)
        self.state = None
        self.result = None

    @property
    def init_pid(self):
        return self.state["container"]["pid"]

    def exec(self, cmd, *args, **kw):
        """cnlaunch exec --id NAME [args] -- cmd, run to completion (nothing left behind)."""
        return self.flow.run("exec", "--id", self.name, *args, cmd=cmd, rootfs=False, **kw)

    def exec_popen(self, cmd, *args, binary=None):
        flow = self.flow
        if binary is not None:
            flow = _with_binary(flow, binary)
        return flow.popen("exec", "--id", self.name, *args, cmd=cmd, rootfs=False)

    def host_status(self):
        with open("/proc/%d/status" % self.init_pid) as f:
            return Status.parse(f.read())

    def host_ns(self, name):
        return os.readlink("/proc/%d/ns/%s" % (self.init_pid, name))

    def stop(self):
        """SIGKILL the container's process (pid 1 ignores TERM) and reap the launch."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init_pid, signal.SIGKILL)
        self.result = self.flow.wait_popen(self.popen)
        return self.result


def _with_binary(flow, binary):
    other = type(flow)(flow.name, flow.world, flow.leftovers)
    other.binary = binary
    return other


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("%s: not within %.0f s" % (what, timeout))


@contextlib.contextmanager
def running(flow, *args, name=None, cmd=SLEEP, caller_cgroups=()):
    """A container launched with --id, running cmd; yields a Container once its state says so."""
    c = Container(flow, name or new_id(), None)
    c.popen = flow.popen("--id", c.name, "--hostname", "cnexec", *args, cmd=list(cmd), caller_cgroups=caller_cgroups)

    def up():
        if c.popen.poll() is not None:
            out, err = c.popen.communicate()
            raise AssertionError("the container exited %d: %s" % (c.popen.returncode, err.decode()))
        st = read_state(c.state_path)  # this launch's (a stale one of the same id may be there first)
        return st if st and st.get("status") == "running" and st["master"]["pid"] == c.popen.pid else None
    try:
        c.state = wait_for(up, "the state of %s" % c.name)
        yield c
    finally:
        c.stop()


# --------------------------------------------------------------------------
# what the exec'd command is


def test_exec_runs_as_the_containers_own_process(flow, world):
    """id, hostname and /proc/self/status of the exec'd command are the container process's:
    uids, gids, the five capability sets, no_new_privs and seccomp (a profile is loaded)."""
    profile = flow.write_file("seccomp.json", json.dumps(PROC_SECCOMP))
    with running(flow, "--no-new-privs", "--seccomp", profile) as c:
        want = c.host_status()
        out = c.exec(["sh", "-c", "id; hostname; echo @@; cat /proc/self/status"]).ok()
        ident, _, status = out.partition("@@\n")
        got = Status.parse(status)
        assert ident.splitlines() == [
            "uid=%d(%s) gid=%d(%s)" % ((0, "root", 0, "root") if flow.name == "root" else
                                       (NOBODY, "nobody", NOBODY, "nogroup")), "cnexec"], out
        for key in ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
            assert got[key] == want[key], "%s: exec'd %r, the container's process %r" % (key, got[key], want[key])
        assert got["NoNewPrivs"] == "1" and got["Seccomp"] == "2"


def test_exec_joins_every_namespace_and_cgroup_of_the_container(flow, host_ns):
    with running(flow) as c:
        script = "; ".join("readlink /proc/self/ns/%s" % n for n in NAMESPACES) + "; echo @@; cat /proc/self/cgroup"
        out = c.exec(["sh", "-c", script]).ok()
        links, _, cgroups = out.partition("@@\n")
        assert links.split() == [c.host_ns(n) for n in NAMESPACES]
        for n in ("mnt", "pid", "uts", "ipc", "net"):
            assert c.host_ns(n) != host_ns[n], "the container shares the host's %s namespace" % n
        with open("/proc/%d/cgroup" % c.init_pid) as f:
            assert cgroups == f.read()
        assert c.state["cgroups"] or flow.name != "root", "the root flow gives every container cgroups"


def test_exec_takes_the_containers_environment_and_cwd_or_the_options(flow):
    with running(flow, "--env", "FROM_LAUNCH=1", "--cwd", "/tmp") as c:
        out = c.exec(["sh", "-c", "pwd; echo $FROM_LAUNCH $EXTRA"]).ok()
        assert out.splitlines() == ["/tmp", "1"]
        out = c.exec(["sh", "-c", "pwd; echo $FROM_LAUNCH $EXTRA"], "--env", "EXTRA=2", "--cwd", "/etc").ok()
        assert out.splitlines() == ["/etc", "1 2"]


def test_exec_by_pid_joins_the_same_container(flow):
    with running(flow) as c:
        out = flow.run("exec", "--pid", c.init_pid, cmd=["readlink", "/proc/self/ns/pid"], rootfs=False).ok()
        assert out.strip() == c.host_ns("pid")


# --------------------------------------------------------------------------
# exit status and signals


def test_exec_returns_the_commands_exit_status(flow):
    with running(flow) as c:
        assert c.exec(["sh", "-c", "exit 3"]).rc == 3
        assert c.exec(["sh", "-c", "kill -USR1 $$"]).rc == 128 + signal.SIGUSR1
        assert c.exec(["no-such-command"]).rc == 127


def _exec_command_pid(exec_popen, argv, timeout=10.0):
    """The host pid of the exec'd command (a child of the exec's cnlaunch, in the container's pid ns)."""
    def find():
        for pid in descendants(exec_popen.pid):
            nspid = read_nspid(pid)
            if nspid and len(nspid) >= 2 and read_cmdline(pid) == list(argv):
                return pid
        return None
    return wait_for(find, "the exec'd %s" % (argv,), timeout)


def test_sigterm_to_cnlaunch_exec_kills_the_command(flow):
    """The command is not pid 1 of its namespace: TERM forwarded to it ends it, and the exit status says so."""
    with running(flow) as c:
        p = c.exec_popen(["sleep", "100"])
        _exec_command_pid(p, ["sleep", "100"])
        start = time.monotonic()
        p.send_signal(signal.SIGTERM)
        res = flow.wait_popen(p, timeout=10)
        assert res.rc == 128 + signal.SIGTERM, res
        assert time.monotonic() - start < 5


# --------------------------------------------------------------------------
# the process features of a launch, for an exec: --tty, --console-size, --console-socket,
# --pidfd-socket, --preserve-fds (test_launcher_process.py shows them on a launch)


def test_exec_tty_is_a_new_pty_the_command_owns(flow):
    """The container itself has no terminal: the exec's pty is the first of the container's devpts,
    stdin, stdout and stderr of the command, and its user's."""
    with running(flow) as c:
        out = c.exec(["sh", "-c", "tty; test -t 0 -a -t 1 -a -t 2 && echo all-three; id -u; stat -L -c %u /proc/self/fd/0"],
                     "-t").ok()
        want = "0" if flow.name == "root" else str(NOBODY)
        assert crlf(out).split() == ["/dev/pts/0", "all-three", want, want], out
        # the control: without -t an exec's stdio is the caller's, no terminal
        assert c.exec(["sh", "-c", "test -t 0 || test -t 1 || test -t 2 || echo none"]).ok() == "none\n"


def test_exec_tty_lives_in_the_containers_devpts(flow):
    """Seen from the host: the command's stdin is a pty of the container's own devpts instance
    (made by the joined process inside the container), not one of the host's."""
    with running(flow) as c:
        p = c.exec_popen(["sleep", "30"], "-t")
        try:
            pid = _exec_command_pid(p, ["sleep", "30"])
            tty = os.stat("/proc/%d/fd/0" % pid)
            container_pts = os.stat("/proc/%d/root/dev/pts/ptmx" % c.init_pid)
            assert os.major(tty.st_rdev) == PTS_MAJOR and os.minor(tty.st_rdev) == 0, tty
            assert tty.st_dev == container_pts.st_dev != os.stat("/dev/pts/ptmx").st_dev, (tty, container_pts)
        finally:
            p.send_signal(signal.SIGTERM)
            res = flow.wait_popen(p)
        assert res.rc == 128 + signal.SIGTERM, res


def test_exec_console_size(flow):
    with running(flow) as c:
        assert c.exec(["stty", "size"], "-t", "--console-size", "31x107").ok() == "31 107\r\n"
        c.exec(["true"], "-t", "--console-size", "0x80").refused("--console-size")


def test_exec_console_socket_receives_the_pty_master(flow):
    r = Receiver(flow, "console.sock")
    master = None
    try:
        with running(flow) as c:
            c.exec(["true"], "--console-socket", r.path).refused("--console-socket", "--tty")
            p = c.exec_popen(["sh", "-c", 'read line; echo "got:$line"; exit 7'], "-t", "--console-socket", r.path)
            try:
                payload, fds = r.receive()
                assert payload == b"/dev/pts/0" and len(fds) == 1, (payload, fds)
                master = fds[0]
                os.write(master, b"from-host\n")
                read_until(master, b"got:from-host")
            finally:
                res = flow.wait_popen(p)
            assert res.rc == 7 and res.out == "", "the pty went to the socket: nothing to relay\n%s" % res
    finally:
        if master is not None:
            os.close(master)
        r.close()


def test_exec_pidfd_socket_receives_a_pidfd_of_the_command(flow):
    r = Receiver(flow, "pidfd.sock")
    pidfd = None
    try:
        with running(flow) as c:
            p = c.exec_popen(["sleep", "30"], "--pidfd-socket", r.path)
            try:
                payload, fds = r.receive()
                assert len(fds) == 1 and payload.isdigit(), (payload, fds)
                pidfd = fds[0]
                pid = int(payload)
                assert pidfd_pid(pidfd) == pid == _exec_command_pid(p, ["sleep", "30"])
                assert os.readlink("/proc/%d/ns/pid" % pid) == c.host_ns("pid"), "not in the container's pid ns"
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            finally:
                res = flow.wait_popen(p)
            assert res.rc == 128 + signal.SIGKILL, res
    finally:
        if pidfd is not None:
            os.close(pidfd)
        r.close()


@pytest.mark.parametrize("n", [0, 2])
def test_exec_preserve_fds_passes_exactly_fds_3_to_3_plus_n(flow, n):
    """The caller holds 3, 4, 5 and 7: the command gets 3 .. 3+n-1 (ls's own directory fd is the next)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with running(flow) as c:
            res = run_with(flow, "exec", "--id", c.name, "--preserve-fds", n, cmd=["/bin/ls", "/proc/self/fd"],
                           fds={3: w, 4: null, 5: null, 7: null}, rootfs=False)
    finally:
        for fd in (r, w, null):
            os.close(fd)
    assert sorted(int(x) for x in res.ok().split()) == list(range(3 + n + 1)), res


def test_exec_preserved_fds_are_the_callers_and_end_with_the_command(flow):
    """What the command writes to fd 3 reaches the caller's pipe, and once the command closes it the
    pipe ends while cnlaunch exec still runs: no launcher process keeps a copy."""
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        with running(flow) as c:
            p = popen_with(flow, "exec", "--id", c.name, "--preserve-fds", 1, fds={3: w}, rootfs=False,
                           cmd=["/bin/sh", "-c", "echo up >&3; exec 3>&-; exec sleep 30"])
            os.close(w)
            w = None
            try:
                assert read_until(r, b"up\n") == b"up\n"
                ready, _, _ = select.select([r], [], [], 5)
                assert ready and os.read(r, 100) == b"", "fd 3's pipe did not end: a launcher process holds a copy"
                assert p.poll() is None, "cnlaunch exec ended early"
            finally:
                p.send_signal(signal.SIGTERM)
                res = flow.wait_popen(p)
            assert res.rc == 128 + signal.SIGTERM, res
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)


# --------------------------------------------------------------------------
# the state


def test_state_file_exists_while_the_container_runs_and_is_gone_after(flow):
    with running(flow) as c:
        st = os.stat(c.state_path, follow_symlinks=False)
        owner = NOBODY if flow.name == "userns" else 0
        assert (st.st_uid, oct(st.st_mode & 0o777)) == (owner, "0o600")
        dir_st = os.stat(c.state_path.parent)
        assert dir_st.st_uid == owner and not dir_st.st_mode & (0o077 if owner else 0o022)
        s = c.state
        assert (s["id"], s["flow"], s["caller"]["uid"]) == (c.name, flow.name, flow.caller_uid)
        assert s["container"]["pid"] == c.init_pid and read_cmdline(c.init_pid) == list(SLEEP)
        with open("/proc/%d/stat" % c.init_pid) as f:
            assert s["container"]["start_time"] == int(f.read().rpartition(")")[2].split()[19])
        assert s["config"]["process"]["args"] == list(SLEEP)
        assert set(s["namespaces"]) >= {"mnt", "pid", "uts", "ipc", "net"}
    assert c.result.rc == 128 + signal.SIGKILL
    assert not c.state_path.exists()


def test_duplicate_id_is_refused_and_leaves_the_running_one_alone(flow):
    with running(flow) as c:
        flow.run("--id", c.name, cmd=["true"]).refused("--id %s" % c.name, "a launch with this id runs")
        assert read_state(c.state_path) == c.state
        assert c.exec(["true"]).rc == 0


def test_unknown_id_is_refused_with_one_line(flow):
    name = new_id()
    flow.run("exec", "--id", name, cmd=["true"], rootfs=False).refused("exec --id %s" % name, "no running container")


@pytest.mark.parametrize("args, needle", [
    (["exec", "--rootfs", "/", "--id", "x"], "--rootfs is an option of a launch"),
    (["exec", "--id", "x", "--cap-add", "CAP_CHOWN"], "--cap-add is an option of a launch"),
    (["exec"], "give one of --id NAME and --pid PID"),
    (["exec", "--id", "x", "--pid", "1"], "give one of --id NAME and --pid PID"),
    (["exec", "--id", "../etc"], "--id: \"../etc\" is not"),
    (["exec", "--pid", "-3"], "--pid: \"-3\" is not a process id"),
    (["--pid", "1"], "--pid: an option of exec"),
    (["--id", "a b"], "--id: \"a b\" is not"),
])
def test_exec_command_line_refusals(root, args, needle):
    root.run(*args, cmd=["true"], rootfs=False).refused(needle)


# --------------------------------------------------------------------------
# who may join what


def test_setuid_exec_into_another_users_container_is_refused(root, setuid):
    """root's container (in /run/cnlaunch like the caller's): refused by id and by pid; a host
    process of the caller's own is no container; the caller's own container works by pid."""
    with running(root) as theirs, running(setuid) as mine:
        setuid.run("exec", "--id", theirs.name, cmd=["id"], rootfs=False).refused(
            "exec --id %s" % theirs.name, "another user (uid 0)")
        setuid.run("exec", "--pid", theirs.init_pid, cmd=["id"], rootfs=False).refused(
            "not a running container of uid %d" % NOBODY)
        plain = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                                  "--", "sleep", "30"])
        try:
            setuid.run("exec", "--pid", plain.pid, cmd=["id"], rootfs=False).refused("not a running container")
        finally:
            plain.kill()
            plain.wait()
        setuid.run("exec", "--id", mine.name, "--user", "0", cmd=["id"], rootfs=False).refused(
            "process.user.uid", "runs as its caller")
        assert setuid.run("exec", "--pid", mine.init_pid, cmd=["id", "-u"], rootfs=False).ok().strip() == str(NOBODY)


def test_setuid_exec_trusts_no_state_that_is_not_roots_alone(root, setuid):
    """A state naming the caller but not root's 0600 file (as if the caller could have written
    one: it points at root's container) is refused; so is a link in its place."""
    with running(root) as theirs:
        forged = dict(theirs.state, id=new_id(), caller={"uid": NOBODY, "gid": NOBODY}, flow="setuid")
        path = STATE_DIR / (forged["id"] + ".json")
        link = STATE_DIR / (new_id() + ".json")
        try:
            path.write_text(json.dumps(forged))
            os.chown(path, NOBODY, NOBODY)
            os.chmod(path, 0o600)
            setuid.run("exec", "--id", forged["id"], cmd=["id"], rootfs=False).refused(
                str(path), "not a regular file of uid 0 alone")
            os.chown(path, 0, 0)
            os.symlink(path, link)
            setuid.run("exec", "--id", link.name[:-5], cmd=["id"], rootfs=False).refused(
                str(link), "Too many levels of symbolic links")
        finally:
            for p in (path, link):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


# --------------------------------------------------------------------------
# the container or the launcher killed


def test_sigkill_of_the_container_ends_the_exec_and_removes_the_state(flow):
    with running(flow) as c:
        p = c.exec_popen(["sleep", "100"])
        _exec_command_pid(p, ["sleep", "100"])
        os.kill(c.init_pid, signal.SIGKILL)  # its pid namespace dies with it, the exec'd command too
        assert flow.wait_popen(p, timeout=10).rc == 128 + signal.SIGKILL
        assert c.stop().rc == 128 + signal.SIGKILL
    assert not c.state_path.exists()
    flow.run("exec", "--id", c.name, cmd=["true"], rootfs=False).refused("no running container")


def test_sigkill_of_cnlaunch_leaves_a_state_only_where_cleanup_host_may_not_remove_it(flow):
    """root and userns: CLEANUP_HOST removes the state of a master killed with SIGKILL. setuid:
    CleanupHost holds no privilege and /run/cnlaunch is root's: the stale state stays, exec
    refuses it (its process is gone), and the next launch of the id replaces it."""
    c = Container(flow, new_id(), None)
    c.popen = flow.popen("--id", c.name, cmd=list(SLEEP))
    c.state = wait_for(lambda: (read_state(c.state_path) or {}).get("status") == "running" and
                       read_state(c.state_path), "the state")
    c.popen.send_signal(signal.SIGKILL)
    flow.wait_popen(c.popen)
    if flow.name == "setuid":
        assert read_state(c.state_path) == c.state
        flow.run("exec", "--id", c.name, cmd=["true"], rootfs=False).refused(
            "process %d is gone" % c.init_pid, "stale")
        with running(flow, name=c.name) as again:
            assert again.exec(["true"]).rc == 0
    else:
        wait_for(lambda: not c.state_path.exists(), "CleanupHost removing %s" % c.state_path)


# --------------------------------------------------------------------------
# the joined process while it is still cnlaunch (SECURITY.md)


@pytest.fixture(scope="module")
def breach_binaries(world):
    """cnlaunch-breach as a root-owned 4755 copy (setuid) and a plain copy (root)."""
    if not BREACH.is_file():
        pytest.fail("no cnlaunch-breach at %s: build it" % BREACH, pytrace=False)
    out = {}
    for name, mode in (("setuid", 0o4755), ("root", 0o755)):
        out[name] = world.dir / ("exec-breach-" + name)
        shutil.copyfile(BREACH, out[name])
        os.chown(out[name], 0, 0)
        os.chmod(out[name], mode)
    return out


@contextlib.contextmanager
def paused_exec(c, binary, breach, cmd=("echo", "joined")):
    """A cnlaunch-breach exec whose joined process stopped itself entering StartProcess:
    yields (its pid in the container, its host pid, the Popen); SIGCONT when done."""
    os.environ["CN_BREACH_EXEC"] = breach
    try:
        p = c.exec_popen(list(cmd), binary=binary)
    finally:
        del os.environ["CN_BREACH_EXEC"]
    def stopped():
        for pid in descendants(p.pid):
            nspid = read_nspid(pid)
            try:
                state = Path("/proc/%d/stat" % pid).read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if nspid and len(nspid) >= 2 and state == "T":
                return nspid[-1], pid
        return None
    try:
        inner, host = wait_for(stopped, "the joined process stopping itself")
        yield inner, host, p
    finally:
        for pid in descendants(p.pid):  # only the exec's own processes
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


ATTACK = ("n={n}; cat /proc/$n/environ >/dev/null && echo ENVIRON-READ; "
          "readlink /proc/$n/exe >/dev/null && echo EXE-READ; grep -E '^(Uid|CapEff)' /proc/$n/status")


@pytest.mark.parametrize("flow", ["setuid", "root"], indirect=True)
def test_joined_process_is_not_dumpable_and_holds_only_the_containers_creds(flow, breach_binaries):
    """Caught as it enters StartProcess (still cnlaunch, in the container's pid namespace), the
    joined process is non-dumpable and already holds exactly the container's creds: the
    container (its user; root without CAP_SYS_PTRACE) can neither read its memory-backed /proc
    files nor follow its exe to the launcher's binary. STAGE2, which joined and dropped with
    more privilege, never was in the container's pid namespace."""
    with running(flow) as c:
        want = c.host_status()
        with paused_exec(c, breach_binaries[flow.name], "pause") as (inner, host, p):
            res = c.exec(["sh", "-c", ATTACK.format(n=inner)])
            assert "ENVIRON-READ" not in res.out and "EXE-READ" not in res.out, res
            assert "Permission denied" in res.err, res
            st = Status.parse(Path("/proc/%d/status" % host).read_text())
            assert (st["Uid"], st["CapEff"], st["CapPrm"], st["CapBnd"]) == (
                want["Uid"], want["CapEff"], want["CapPrm"], want["CapBnd"])
            assert [pid for pid in descendants(p.pid) if len(read_nspid(pid) or []) >= 2] == [host], \
                "a process of the exec's besides the joined one is in the container's pid namespace"
        res = flow.wait_popen(p)
        assert res.rc == 0 and res.out == "joined\n", res


@pytest.mark.parametrize("flow", ["setuid", "root"], indirect=True)
def test_breach_a_dumpable_joined_process_is_open_to_the_container_and_the_recheck_refuses_it(flow,
                                                                                              breach_binaries):
    """Control: the same attack on a joined process left dumpable reads it; StartProcess's
    check of dumpable then refuses to run the command."""
    with running(flow) as c:
        with paused_exec(c, breach_binaries[flow.name], "pause,dumpable") as (inner, host, p):
            res = c.exec(["sh", "-c", ATTACK.format(n=inner)])
            assert "ENVIRON-READ" in res.out, res
        res = flow.wait_popen(p)
        assert res.rc == 125 and "StartProcess: verify dumpable" in res.err and "joined" not in res.out, res


def test_root_container_with_ptrace_cannot_rewrite_cnlaunch_through_the_joined_process(root, world):
    """CVE-2019-5736 during an exec: root in the container with CAP_SYS_PTRACE reaches the joined
    process's exe (it may ptrace anything in its pid namespace), and writing the binary through it
    fails: the root flow's exec runs from a read-only bind of its own inode, as the launch does."""
    victim = world.dir / "exec-victim"
    shutil.copyfile(BREACH, victim)
    os.chmod(victim, 0o755)
    before = victim.read_bytes()
    with running(root, "--cap-add", "CAP_SYS_PTRACE") as c:
        with paused_exec(c, victim, "pause") as (inner, host, p):
            res = c.exec(["sh", "-c", "readlink /proc/%d/exe; echo pwned > /proc/%d/exe; echo rc=$?" % (inner, inner)])
            assert res.out.splitlines() == [str(victim), "rc=1"], res
            assert "Read-only file system" in res.err, res
        assert root.wait_popen(p).rc == 0
    assert victim.read_bytes() == before

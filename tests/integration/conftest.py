# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the black-box integration suite of cnlaunch.

Every test launches the real binary against a real kernel, as root (CI is
root) and as uid 65534 through setpriv, in three flows:

  setuid  a root-owned 4755 copy of cnlaunch, run by 65534
  userns  a plain 0755 copy of cnlaunch, run by 65534 (new user namespace)
  root    a plain 0755 copy of cnlaunch, run by root

All three are copies taken once per session, so a rebuild while the suite
runs cannot mix binaries.

The binary and the rootfs come from the environment that meson's test() sets
(CNLAUNCH, CN_ROOTFS); by hand they default to the build directory of this
checkout. Nothing here skips: a missing binary or a non-root runner is an
error, because a suite that silently skips its privileged half proves nothing.

Every launch is wrapped in a "nothing left behind" check: the host mount
table, the processes of ours that run cnlaunch or live in another pid
namespace, cn* entries in /tmp and (for the runs as 65534) the root-owned
files of the temp dir are the same after the launch as before it, and no
cgroup named for the launch (cnlaunch-PID, PID its first process) is left in
any hierarchy. pytest makes
itself a child subreaper, so whatever a launch leaves running is reparented to
it and found among its descendants, and launches of other people on the same
machine do not disturb the comparison.
"""

import ctypes
import dataclasses
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
FLOWS = ("setuid", "userns", "root")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Set in the caller's environment: it must never reach the container.
CALLER_MARKER = "CN_IT_CALLER_MARKER"
LAUNCH_TIMEOUT = 30
LEFTOVER_GRACE = 0.5  # seconds a helper killed by its parent-death signal may take to go

CAP_NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
OCI_DEFAULT_CAPS = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})
CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")

# The OCI runtime-spec defaults (runc spec); a path the host kernel lacks is
# not masked by anyone, so tests keep only those that exist here.
OCI_MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi", "/sys/devices/virtual/powercap",
]
OCI_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

_SECCOMP_ARCHES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


# --------------------------------------------------------------------------
# parsing what the container prints


def caps_from_mask(mask):
    """A capability mask (int or hex text from /proc/PID/status) -> set of names."""
    if isinstance(mask, str):
        mask = int(mask, 16)
    names = set()
    for bit in range(64):
        if mask & (1 << bit):
            names.add(CAP_NAMES[bit] if bit < len(CAP_NAMES) else "CAP_%d" % bit)
    return frozenset(names)


class Status(dict):
    """/proc/self/status as printed by `cat /proc/self/status` in the container."""

    @classmethod
    def parse(cls, text):
        st = cls()
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                st[key.strip()] = value.strip()
        missing = {"Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", *CAP_SETS} - set(st)
        assert not missing, "not a /proc/self/status (missing %s):\n%s" % (sorted(missing), text)
        return st

    def ids(self, key):
        """Uid/Gid -> [real, effective, saved, fs]."""
        return [int(x) for x in self[key].split()]

    def groups(self):
        return [int(x) for x in self["Groups"].split()]

    def caps(self, key):
        return caps_from_mask(self[key])

    def all_caps(self):
        return {key: self.caps(key) for key in CAP_SETS}


def parse_mountinfo(text):
    """mountinfo text -> list of dicts: id, parent, root, mountpoint, options, fstype, source, super."""
    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, _, right = line.partition(" - ")
        f = left.split()
        r = right.split()
        mounts.append({
            "id": f[0], "parent": f[1], "root": _unoctal(f[3]), "mountpoint": _unoctal(f[4]),
            "options": f[5].split(","), "fstype": r[0] if r else "",
            "source": r[1] if len(r) > 1 else "", "super": r[2].split(",") if len(r) > 2 else [],
        })
    return mounts


def _unoctal(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def top_mount(mounts, mountpoint):
    """The mount visible at mountpoint (the last one mounted there), or None."""
    found = [m for m in mounts if m["mountpoint"] == mountpoint]
    return found[-1] if found else None


def parse_limits(text):
    """/proc/self/limits -> {"Max open files": ("512", "1024"), ...}."""
    limits = {}
    for line in text.splitlines()[1:]:
        parts = line[:26].strip(), line[26:].split()
        if parts[0] and len(parts[1]) >= 2:
            limits[parts[0]] = (parts[1][0], parts[1][1])
    return limits


def seccomp_arches():
    return _SECCOMP_ARCHES.get(platform.machine(), [])


def read_nspid(pid):
    """The NSpid line of /proc/PID/status as a list of ints (host pid first), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        return None
    return None


def descendants(root_pid):
    """Pids of all live descendants of root_pid (by the ppid chain in /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def read_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return None


def container_init_pid(launcher_pid, argv, timeout=10.0):
    """The host pid of the container's pid 1 among launcher_pid's descendants,
    once it runs argv (before its exec, pid 1 is still the launcher's own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in descendants(launcher_pid):
            nspid = read_nspid(pid)
            if nspid and len(nspid) >= 2 and nspid[-1] == 1 and read_cmdline(pid) == list(argv):
                return pid
        time.sleep(0.02)
    raise AssertionError("no pid 1 running %s in a child pid namespace appeared under cnlaunch (pid %d) "
                         "within %.0f s" % (argv, launcher_pid, timeout))


# --------------------------------------------------------------------------
# nothing left behind


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


class Leftovers:
    """Snapshots of what a launch could leave behind on the host."""

    def __init__(self, world):
        self.world = world
        self.host_pidns = _readlink("/proc/self/ns/pid")

    def _processes(self):
        procs = set()
        for pid in descendants(os.getpid()):
            exe = _readlink("/proc/%d/exe" % pid)
            pidns = _readlink("/proc/%d/ns/pid" % pid)
            if (exe and "cnlaunch" in os.path.basename(exe)) or (pidns and pidns != self.host_pidns):
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = "?"
                procs.add((pid, exe, pidns, cmd))
        return frozenset(procs)

    def _root_files(self):
        out = subprocess.run(["find", str(self.world.dir), "-user", "0", "-print0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
        return frozenset(p for p in out.decode(errors="replace").split("\0") if p)

    def _tmp_entries(self):
        tmp = tempfile.gettempdir()
        try:
            names = os.listdir(tmp)
        except OSError:
            return frozenset()
        return frozenset(os.path.join(tmp, n) for n in names
                         if n.startswith("cn") and not n.startswith("cnlaunch-it."))

    def snapshot(self, root_files):
        with open("/proc/self/mountinfo") as f:
            mounts = tuple(f.read().splitlines())
        return {
            "mounts": mounts,
            "processes": self._processes(),
            "tmp": self._tmp_entries(),
            "root_files": self._root_files() if root_files else frozenset(),
        }

    @staticmethod
    def cgroups_of(pid):
        """The cgroup directories of the launch whose cnlaunch ran as pid (its default
        cgroup name is cnlaunch-PID), in every hierarchy."""
        if pid is None:
            return frozenset()
        name = "cnlaunch-%d" % pid
        return frozenset(os.path.join(top, name) for top, dirs, _ in os.walk("/sys/fs/cgroup") if name in dirs)

    def assert_same(self, before, what, root_files, pid=None):
        """Poll briefly for the state to return to `before`; then report and tidy up what is left."""
        deadline = time.monotonic() + LEFTOVER_GRACE
        while True:
            _reap_orphans()
            after = self.snapshot(root_files)
            cgroups = self.cgroups_of(pid)
            if (after == before and not cgroups) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if after == before and not cgroups:
            return
        problems = []
        if cgroups:
            problems.append("cgroups left: %s" % sorted(cgroups))
        new_mounts = [m for m in after["mounts"] if m not in before["mounts"]]
        gone_mounts = [m for m in before["mounts"] if m not in after["mounts"]]
        if new_mounts or gone_mounts:
            problems.append("host mount table changed:\n" + "".join("  + %s\n" % m for m in new_mounts) +
                            "".join("  - %s\n" % m for m in gone_mounts))
        procs = after["processes"] - before["processes"]
        if procs:
            problems.append("processes left running:\n" +
                            "".join("  pid %d exe %s %s: %s\n" % p for p in sorted(procs)))
        tmp = after["tmp"] - before["tmp"]
        if tmp:
            problems.append("left in %s: %s" % (tempfile.gettempdir(), sorted(tmp)))
        files = after["root_files"] - before["root_files"]
        if files:
            problems.append("root-owned files created under %s:\n" % self.world.dir +
                            "".join("  %s\n" % p for p in sorted(files)))
        self._tidy(new_mounts, procs, cgroups)
        if problems:
            raise AssertionError("%s left something behind:\n%s" % (what, "\n".join(problems)))

    def _tidy(self, new_mounts, procs, cgroups=()):
        # Keep a leak from failing every later test: kill leaked processes,
        # lazily detach leaked mounts under our temp dir.
        for pid, *_ in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
        _reap_orphans()
        for line in new_mounts:
            m = parse_mountinfo(line)[0]
            if m["mountpoint"].startswith(str(self.world.dir) + "/"):
                subprocess.run(["umount", "-l", m["mountpoint"]], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for d in cgroups:  # an exec's sub-cgroups beneath it first
            for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


def _reap_orphans():
    """Reap zombies reparented to us (we are a subreaper) that no Popen owns."""
    me = os.getpid()
    for pid in descendants(me):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me and pid not in _live_popens:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


_live_popens = set()


def _set_child_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


# --------------------------------------------------------------------------
# the world: a world-traversable temp dir with the binaries and rootfs copies


@dataclasses.dataclass
class World:
    dir: Path
    source_binary: Path
    setuid_binary: Path
    userns_binary: Path
    root_binary: Path
    rootfs_root: Path   # root-owned copy (root flow)
    rootfs_user: Path   # copy owned by 65534 (setuid and userns flows)
    source_rootfs: Path

    def user_dir(self, prefix="d"):
        """A fresh directory owned by 65534 (for pid files and the like)."""
        d = Path(tempfile.mkdtemp(prefix=prefix + ".", dir=self.dir))
        os.chmod(d, 0o755)
        os.chown(d, NOBODY, NOBODY)
        return d

    def write_file(self, name, text, mode=0o644):
        """A root-owned file readable by everyone."""
        path = self.dir / "files" / ("%s.%s" % (uuid.uuid4().hex[:8], name))
        path.write_text(text)
        os.chmod(path, mode)
        return path

    def rootfs_copy(self, dest, owner):
        subprocess.run(["cp", "-a", str(self.source_rootfs), str(dest)], check=True)
        if owner:
            subprocess.run(["chown", "-R", "-h", "%d:%d" % (owner, owner), str(dest)], check=True)
        os.chmod(dest, 0o755)
        return dest


def _fail_setup(msg):
    pytest.fail("integration setup: " + msg, pytrace=False)


@pytest.fixture(scope="session")
def world():
    if os.geteuid() != 0:
        _fail_setup("these tests must run as root (they launch as root and as uid 65534)")
    binary = Path(os.environ.get("CNLAUNCH") or REPO / "build" / "core" / "cnlaunch")
    rootfs = Path(os.environ.get("CN_ROOTFS") or REPO / "build" / "rootfs")
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        _fail_setup("no cnlaunch at %s: build it (meson setup build && ninja -C build) or set CNLAUNCH" % binary)
    if not (rootfs / "bin" / "sh").exists():
        _fail_setup("no busybox rootfs at %s: build it or set CN_ROOTFS" % rootfs)
    if shutil.which("setpriv") is None:
        _fail_setup("setpriv (util-linux) is needed to run as uid 65534")
    _set_child_subreaper()

    d = Path(tempfile.mkdtemp(prefix="cnlaunch-it."))
    os.chmod(d, 0o755)
    (d / "files").mkdir(mode=0o755)
    setuid_binary = d / "cnlaunch-setuid"
    userns_binary = d / "cnlaunch-userns"
    shutil.copyfile(binary, setuid_binary)
    os.chown(setuid_binary, 0, 0)
    os.chmod(setuid_binary, 0o4755)
    root_binary = d / "cnlaunch-root"
    for plain in (userns_binary, root_binary):
        shutil.copyfile(binary, plain)
        os.chown(plain, 0, 0)
        os.chmod(plain, 0o755)
    w = World(dir=d, source_binary=binary, setuid_binary=setuid_binary, userns_binary=userns_binary,
              root_binary=root_binary,
              rootfs_root=d / "rootfs-root", rootfs_user=d / "rootfs-user", source_rootfs=rootfs)
    w.rootfs_copy(w.rootfs_root, owner=None)
    w.rootfs_copy(w.rootfs_user, owner=NOBODY)
    yield w

    # Never rm -rf through a mount a broken launch left under the temp dir.
    with open("/proc/self/mountinfo") as f:
        stuck = [m["mountpoint"] for m in parse_mountinfo(f.read())
                 if m["mountpoint"].startswith(str(d) + "/")]
    if stuck:
        print("\nleaving %s in place: still mounted under it: %s" % (d, stuck))
        return
    subprocess.run(["rm", "-rf", "--one-file-system", str(d)], check=False)


@pytest.fixture(scope="session")
def leftovers(world):
    return Leftovers(world)


# --------------------------------------------------------------------------
# running cnlaunch


@dataclasses.dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str

    def __str__(self):
        return "$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(self.argv), self.rc, self.out, self.err)

    def ok(self):
        """Assert a clean exit 0; returns stdout."""
        assert self.rc == 0, "expected exit 0\n%s" % self
        return self.out

    def refused(self, *needles):
        """Assert a launcher refusal: exit 125, exactly one stderr line `cnlaunch: ...` naming
        each needle; a needle may be a tuple of alternatives (the option or its JSON path)."""
        lines = self.err.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the line's own newline
        assert self.rc == 125, "expected exit 125 (launcher failure)\n%s" % self
        assert len(lines) == 1, "expected exactly one line on stderr, got %d\n%s" % (len(lines), self)
        assert lines[0].startswith("cnlaunch: "), "stderr must start with 'cnlaunch: '\n%s" % self
        for needle in needles:
            alternatives = needle if isinstance(needle, tuple) else (needle,)
            assert any(a in lines[0] for a in alternatives), \
                "the error should name %s\n%s" % (" or ".join(map(repr, alternatives)), self)
        return lines[0]


class Flow:
    """One way of launching: which binary, as whom, with which rootfs."""

    def __init__(self, name, world, leftovers):
        self.name = name
        self.world = world
        self.leftovers = leftovers
        self.binary = {"setuid": world.setuid_binary, "userns": world.userns_binary,
                       "root": world.root_binary}[name]
        self.caller_uid = 0 if name == "root" else NOBODY
        self.rootfs = world.rootfs_root if name == "root" else world.rootfs_user
        # files created by the container are the caller's on the host
        self.owner = None if name == "root" else NOBODY

    def __repr__(self):
        return "Flow(%s)" % self.name

    # -- argv and environment

    def argv(self, args=(), cmd=None, flow_opt=True, rootfs=True):
        argv = [str(self.binary)]
        if flow_opt:
            argv += ["--flow", self.name]
        if rootfs:
            argv += ["--rootfs", str(self.rootfs)]
        argv += [str(a) for a in args]
        if cmd is not None:
            argv += ["--"] + [str(c) for c in cmd]
        return argv

    def _caller(self, argv):
        if self.caller_uid == 0:
            return argv
        return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"] + argv

    def _env(self):
        env = dict(os.environ)
        env[CALLER_MARKER] = "must-not-leak"
        env["LC_ALL"] = "C"
        return env

    def _preexec(self, caller_nofile, caller_cgroups=()):
        def fn():
            if caller_nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, caller_nofile)
            for d in caller_cgroups:  # the caller runs in these cgroup directories
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        return fn

    # -- launching

    def run(self, *args, cmd=None, flow_opt=True, rootfs=True, timeout=LAUNCH_TIMEOUT,
            caller_nofile=None, input=None, caller_cgroups=()):
        """Run cnlaunch to completion; assert it left nothing behind. caller_cgroups: cgroup
        directories the caller is put in before it runs cnlaunch."""
        argv = self.argv(args, cmd, flow_opt, rootfs)
        root_files = self.caller_uid != 0
        before = self.leftovers.snapshot(root_files)
        # Popen, not run: the pid names the launch's cgroups (setpriv execs cnlaunch in place)
        p = subprocess.Popen(self._caller(argv), stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env(), cwd=str(self.world.dir),
                             preexec_fn=self._preexec(caller_nofile, caller_cgroups))
        try:
            out, err = p.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError("cnlaunch did not finish within %d s: %s\nstdout: %r\nstderr: %r" % (
                timeout, " ".join(argv), out, err)) from None
        res = Result(argv, p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        self.leftovers.assert_same(before, "%s flow launch\n%s\n" % (self.name, res), root_files, pid=p.pid)
        return res

    def popen(self, *args, cmd=None, flow_opt=True, rootfs=True, caller_cgroups=()):
        """Start cnlaunch; use with wait_popen() to finish and check for leftovers."""
        argv = self.argv(args, cmd, flow_opt, rootfs)
        before = self.leftovers.snapshot(self.caller_uid != 0)
        p = subprocess.Popen(self._caller(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self._env(), cwd=str(self.world.dir),
                             preexec_fn=self._preexec(None, caller_cgroups))
        p.cn_argv, p.cn_before = argv, before
        _live_popens.add(p.pid)
        return p

    def wait_popen(self, p, timeout=LAUNCH_TIMEOUT):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            _live_popens.discard(p.pid)
            raise AssertionError("cnlaunch did not finish within %d s: %s\nstdout: %r\nstderr: %r" % (
                timeout, " ".join(p.cn_argv), out, err)) from None
        _live_popens.discard(p.pid)
        res = Result(p.cn_argv, p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        self.leftovers.assert_same(p.cn_before, "%s flow launch\n%s\n" % (self.name, res),
                                   self.caller_uid != 0, pid=p.pid)
        return res

    # -- common probes

    def sh(self, script, *args, **kw):
        return self.run(*args, cmd=["/bin/sh", "-c", script], **kw)

    def status(self, *args, **kw):
        """Launch `cat /proc/self/status` and parse it."""
        return Status.parse(self.run(*args, cmd=["/bin/cat", "/proc/self/status"], **kw).ok())

    def status_and_maps(self, *args, **kw):
        """Status plus uid_map and gid_map of the container process, from one launch."""
        res = self.sh("cat /proc/self/status; echo @@uid_map; cat /proc/self/uid_map; "
                      "echo @@gid_map; cat /proc/self/gid_map", *args, **kw)
        status, _, rest = res.ok().partition("@@uid_map\n")
        uid_map, _, gid_map = rest.partition("@@gid_map\n")
        return Status.parse(status), norm_map(uid_map), norm_map(gid_map)

    def mountinfo(self, *args):
        return parse_mountinfo(self.run(*args, cmd=["/bin/cat", "/proc/self/mountinfo"]).ok())

    # -- files the caller can read

    def write_file(self, name, text):
        return self.world.write_file(name, text)

    def bundle(self, config, with_rootfs=True):
        """A bundle dir with config.json (a dict or raw text) and, when asked, a rootfs copy in it."""
        d = Path(tempfile.mkdtemp(prefix="bundle.", dir=self.world.dir))
        os.chmod(d, 0o755)
        if with_rootfs:
            self.world.rootfs_copy(d / "rootfs", owner=self.owner)
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        (d / "config.json").write_text(text)
        os.chmod(d / "config.json", 0o644)
        return d


def norm_map(text):
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


HOST_IDENTITY_MAP = ["0 0 4294967295"]


@pytest.fixture(params=FLOWS)
def flow(request, world, leftovers):
    """Each test that takes `flow` runs once per flow; narrow it with
    @pytest.mark.parametrize("flow", [...], indirect=True)."""
    return Flow(request.param, world, leftovers)


@pytest.fixture
def victim(world):
    """A root-owned, empty host directory the caller cannot write."""
    d = world.dir / ("victim-" + uuid.uuid4().hex[:8])
    d.mkdir(mode=0o755)
    yield d
    subprocess.run(["rm", "-rf", "--one-file-system", str(d)], check=False)


@pytest.fixture
def setuid(world, leftovers):
    return Flow("setuid", world, leftovers)


@pytest.fixture
def userns(world, leftovers):
    return Flow("userns", world, leftovers)


@pytest.fixture
def root(world, leftovers):
    return Flow("root", world, leftovers)


@pytest.fixture
def host_ns():
    """The test runner's namespaces: {"mnt": "mnt:[...]", ...}."""
    return {n: _readlink("/proc/self/ns/" + n) for n in ("mnt", "pid", "uts", "ipc", "net", "user")}


def default_home(uid):
    return "/root" if uid == 0 else "/"


def oci_config(args, rootfs="rootfs", uid=0, gid=0, **process):
    """A config.json in the shape `runc spec` writes (root flow), for bundle tests."""
    proc = {
        "terminal": False,
        "user": {"uid": uid, "gid": gid},
        "args": list(args),
        "env": ["PATH=" + DEFAULT_PATH],
        "cwd": "/",
        "capabilities": {k: sorted(OCI_DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": True,
    }
    proc.update(process)
    return {
        "ociVersion": "1.0.2",
        "process": proc,
        "root": {"path": rootfs, "readonly": False},
        "hostname": "cn-bundle",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(OCI_MASKED_PATHS),
            "readonlyPaths": list(OCI_READONLY_PATHS),
        },
    }

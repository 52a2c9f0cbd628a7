# SPDX-License-Identifier: Apache-2.0
"""Faults (issue 7): a launch that is killed, or fails, at any point leaves
nothing behind, loses no evidence silently, and runs its host cleanup.

- cntrace SIGKILLed mid-launch: the launch is torn down (its cnlaunch dies, also
  a setuid one, whose parent-death signal the kernel clears), CleanupHost runs,
  and none of the BPF programs, links and maps cntrace held stays loaded;
- the cnlaunch the user ran SIGKILLed in each stage: cnlaunch-breach's fault
  engine holds the launch in the stage (`--engine fault-pause-STAGE[-ROLE]`); no
  container process, mount or cgroup is left, and the trace (cntrace keeps
  tracing what is left of the launch) shows the stage and CleanupHost;
- a launch that fails in each stage, from real bad input where one exists and
  from the fault engine (`fault-fail-STAGE[-ROLE]`) where none does: the trace
  shows the failing stage with rc < 0, and CleanupHost;
- the ring buffer forced to overflow (`--ring-buffer-size 4096`): the trace
  reports lost events, and `--check` fails.

Every launch is checked against conftest's Leftovers (mounts, processes of ours
in other pid namespaces or running cnlaunch, cn* in /tmp) and the cgroup tree.
The helpers for cgroups and BPF objects are imported by test_badinput_table.py
and test_load.py.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import NOBODY, REPO, container_init_pid, descendants
from trace_fixtures import cntrace_path

BUILD = Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build")
BREACH = Path(os.environ.get("CNLAUNCH_BREACH") or BUILD / "tests" / "breach" / "cnlaunch-breach")
TIMEOUT = 60
TEARDOWN = 10.0  # seconds what a killed launch leaves may take to go (parent-death signals, CleanupHost)


# --------------------------------------------------------------------------
# what a fault could leave behind beyond conftest's Leftovers: cgroups, BPF objects


def _foreign_cgroup_roots():
    """The directories under which whoever started the test runner keeps per-command
    cgroups (ours among them): other people's commands come and go there."""
    roots = set()
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            parent = os.path.dirname(path.rstrip("/"))
            if not path.strip("/") or parent in ("", "/"):
                continue
            for c in (controllers.split(",") if controllers else ["unified"]):
                roots.add("/sys/fs/cgroup/%s%s" % (c.replace("name=", ""), parent))
    return roots


def _someone_elses_launch(top):
    """A launch's cgroup (cnlaunch-PID) while its cnlaunch PID runs and is none of ours: a
    launch of someone else's on the same machine, which comes and goes."""
    name = os.path.basename(top)
    if not name.startswith("cnlaunch-") or not name[9:].isdigit():
        return False
    pid = int(name[9:])
    return os.path.exists("/proc/%d" % pid) and pid not in descendants(os.getpid())


def cgroup_dirs():
    """Every cgroup directory on the host (v1 controllers and the unified tree)."""
    foreign = _foreign_cgroup_roots()
    found = set()
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top in foreign or _someone_elses_launch(top):
            dirs[:] = []
            continue
        found.add(top)
    return frozenset(found)


def assert_same_cgroups(before, what):
    after = cgroup_dirs()
    assert after == before, "%s changed the cgroup tree: + %s - %s" % (
        what, sorted(after - before), sorted(before - after))


def bpf_ids_held(pid):
    """(kind, id) of every BPF program, link and map process pid holds an fd of."""
    held = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if "bpf" not in target:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("prog_id", "link_id", "map_id"):
                        held.add((key[:-3], int(value)))
        except OSError:
            continue
    return held


def bpf_ids_loaded():
    """(kind, id) of every BPF program, link and map loaded in the kernel (bpftool)."""
    loaded = set()
    for kind in ("prog", "link", "map"):
        p = subprocess.run(["bpftool", "-j", kind, "show"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           check=False)
        assert p.returncode == 0, "bpftool %s show failed: %s" % (kind, p.stderr.decode(errors="replace"))
        for obj in json.loads(p.stdout or b"[]"):
            loaded.add((kind, obj["id"]))
    return loaded


def wait_gone(pids, timeout=TEARDOWN):
    """Wait until none of pids is alive (zombies count as gone); return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rpartition(")")[2].split()[0] != "Z":
                        alive.append(pid)
            except OSError:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def wait_until(cond, timeout=TEARDOWN):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --------------------------------------------------------------------------
# the launchers: cnlaunch for the flows (conftest's copies), cnlaunch-breach for faults


@pytest.fixture(scope="module")
def fault_launchers(world):
    """cnlaunch-breach as a root-owned 4755 copy (setuid) and a plain 0755 copy (userns, root)."""
    if not BREACH.is_file():
        pytest.fail("no cnlaunch-breach at %s: build it (ninja -C build)" % BREACH, pytrace=False)
    copies = {"setuid": world.dir / "fault-breach-setuid", "plain": world.dir / "fault-breach-plain"}
    for name, path in copies.items():
        shutil.copyfile(BREACH, path)
        os.chown(path, 0, 0)
        os.chmod(path, 0o4755 if name == "setuid" else 0o755)
    return {"setuid": copies["setuid"], "userns": copies["plain"], "root": copies["plain"]}


def launch_argv(world, flow, launcher, out, extra=(), cmd=("true",), pid_file=None):
    """cntrace run of cmd in flow through launcher; the trace goes to out."""
    argv = [str(cntrace_path()), "run", "-q", "-o", str(out), "--launcher", str(launcher)]
    if flow != "root":
        argv += ["--as", str(NOBODY)]
    rootfs = world.rootfs_root if flow == "root" else world.rootfs_user
    argv += ["--flow", flow, "--rootfs", str(rootfs)]
    if pid_file is not None:
        argv += ["--pid-file", str(pid_file)]
    return argv + [str(a) for a in extra] + ["--"] + [str(c) for c in cmd]


class Launch:
    """A cntrace run in the background, its stderr read line by line."""

    def __init__(self, argv, cwd):
        self.argv = argv
        self.lines = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=str(cwd), env=dict(os.environ, LC_ALL="C"))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.lines.append(None)  # EOF
            self._cond.notify_all()

    def wait_line(self, needle, timeout=TIMEOUT):
        """The first stderr line containing needle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if line is not None and needle in line:
                        return line
                left = deadline - time.monotonic()
                if None in self.lines or left <= 0:
                    raise AssertionError("no line with %r on cntrace's stderr\n%s" % (needle, self))
                self._cond.wait(left)

    def finish(self, timeout=TIMEOUT):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("cntrace did not finish within %d s\n%s" % (timeout, self)) from None
        self._reader.join(timeout=5)
        return self.proc.returncode

    def __str__(self):
        return "$ %s\nexit %s\n--- stderr\n%s" % (" ".join(self.argv), self.proc.returncode,
                                                 "\n".join(l for l in self.lines if l is not None))


def read_trace(path, launch):
    assert path.exists(), "cntrace wrote no trace\n%s" % launch
    return json.loads(path.read_text())


def stage_entries(trace, name, role=None):
    return [s for s in trace["stages"] if s["name"] == name and (role is None or s["role"] == role)]


def layout(trace):
    return "\n".join("  %-17s %-16s pid %-7s rc %s" % (s["name"], s["role"], s["pid"], s["rc"])
                     for s in trace["stages"])


@pytest.fixture
def untouched(leftovers):
    """Asserts, after the test, that the host is as before it: Leftovers and the cgroup tree."""
    state = {"before": leftovers.snapshot(False), "cgroups": cgroup_dirs()}
    yield state
    leftovers.assert_same(state["before"], "the faulty launch", False)
    assert_same_cgroups(state["cgroups"], "the faulty launch")


# --------------------------------------------------------------------------
# cntrace SIGKILLed mid-launch


@pytest.mark.parametrize("flow_name", ["setuid", "userns", "root"])
def test_sigkill_of_cntrace_mid_launch_tears_the_launch_down_and_unloads_its_bpf(world, untouched, flow_name):
    launcher = {"setuid": world.setuid_binary, "userns": world.userns_binary, "root": world.root_binary}[flow_name]
    pid_file = world.user_dir("cntrace-kill") / "container.pid"
    out = Path(tempfile.mkdtemp(prefix="faults.")) / "trace.json"
    launch = Launch(launch_argv(world, flow_name, launcher, out, cmd=("sleep", "30"), pid_file=pid_file), world.dir)
    try:
        container = container_init_pid(launch.proc.pid, ["sleep", "30"])
        assert wait_until(pid_file.exists), "PostStartHost never wrote the pid file\n%s" % launch
        held = bpf_ids_held(launch.proc.pid)
        kinds = {k for k, _ in held}
        assert kinds == {"prog", "link", "map"}, "cntrace holds no BPF %s? %s" % (
            {"prog", "link", "map"} - kinds, sorted(held))
        launch_pids = [p for p in descendants(launch.proc.pid)]
        os.kill(launch.proc.pid, signal.SIGKILL)
        launch.finish()

        alive = wait_gone(launch_pids)
        assert container not in alive, "the container (pid %d) outlived cntrace" % container
        assert not alive, "processes of the launch outlived cntrace: %s" % [
            (p, (Path("/proc/%d/cmdline" % p).read_bytes() if Path("/proc/%d" % p).exists() else b""))
            for p in alive]
        assert wait_until(lambda: not pid_file.exists()), \
            "CleanupHost did not remove the pid file PostStartHost wrote: the host cleanup never ran"
        # a uprobe-multi link is freed one RCU tasks-trace grace period after its last fd closed: its
        # program and maps go with it
        wait_until(lambda: not held & bpf_ids_loaded())
        still = held & bpf_ids_loaded()
        assert not still, "BPF objects of the killed cntrace are still loaded: %s" % sorted(still)
    finally:
        if launch.proc.poll() is None:
            launch.proc.kill()
            launch.finish()
        shutil.rmtree(out.parent, ignore_errors=True)


# --------------------------------------------------------------------------
# the cnlaunch the user ran, SIGKILLed in each stage

# (flow, stage, role that holds it or None, the command): the launch is held where the
# stage begins; then the master is SIGKILLed. Processes other than the master go on
# with their stage once the master is gone, as they would have.
KILL_POINTS = [
    ("setuid", "Config", "stage1"),
    ("setuid", "InitConfig", "stage1"),
    ("setuid", "PrepareConfig", "stage1"),
    ("setuid", "Config", "master"),
    ("setuid", "InitConfig", "master"),
    ("setuid", "CreateContainer", None),
    ("setuid", "StartProcess", None),
    ("setuid", "PostStartProcess", None),
    ("setuid", "MonitorContainer", None),
    ("setuid", "CleanupContainer", None),
    ("setuid", "PostStartHost", None),
    ("setuid", "CleanupHost", None),
    ("userns", "PrepareConfig", None),
    ("userns", "CreateContainer", None),
    ("userns", "StartProcess", None),
    ("root", "CreateContainer", None),
    ("root", "MonitorContainer", None),
    ("root", "PostStartHost", None),
]
# Before CLEANUP_HOST is forked (by the master, after its own InitConfig) nothing has
# touched the host, and no process is left to run CleanupHost: STAGE1 dies with the master.
BEFORE_CLEANUP_HOST = {("Config", "stage1"), ("InitConfig", "stage1"), ("PrepareConfig", "stage1"),
                       ("Config", "master"), ("InitConfig", "master"), ("PrepareConfig", None)}
# Where the container still runs when the master dies: a long command shows it dies too.
CONTAINER_RUNS = {"CreateContainer", "StartProcess", "PostStartProcess", "MonitorContainer", "PostStartHost"}


@pytest.mark.parametrize("flow_name,stage,role", KILL_POINTS,
                         ids=["%s-%s%s" % (f, s, "-" + r if r else "") for f, s, r in KILL_POINTS])
def test_sigkill_of_cnlaunch_in_each_stage_leaves_nothing_and_cleanup_host_runs(
        world, untouched, fault_launchers, flow_name, stage, role):
    engine = "fault-pause-%s%s" % (stage, "-" + role if role else "")
    cmd = ("sleep", "30") if stage in CONTAINER_RUNS else ("true",)
    pid_file = world.user_dir("stagekill") / "container.pid"
    out = Path(tempfile.mkdtemp(prefix="faults.")) / "trace.json"
    launch = Launch(launch_argv(world, flow_name, fault_launchers[flow_name], out, ("--engine", engine), cmd,
                                pid_file), world.dir)
    try:
        line = launch.wait_line("fault: paused in %s" % stage)
        master = int(line.rpartition("master ")[2].rstrip(")"))
        os.kill(master, signal.SIGKILL)
        rc = launch.finish()
        trace = read_trace(out, launch)
    finally:
        if launch.proc.poll() is None:
            launch.proc.kill()
            launch.finish()
        shutil.rmtree(out.parent, ignore_errors=True)

    assert rc == 128 + signal.SIGKILL, "cntrace should exit with the killed master's status\n%s" % launch
    assert trace["tracer"]["lost_events"] == 0 and trace["tracer"]["complete"], \
        "the trace of a killed launch must still see every process exit: %s\n%s" % (trace["tracer"], launch)
    held = stage_entries(trace, stage, role)
    assert held, "the trace has no %s entry%s\n%s" % (stage, " of " + role if role else "", layout(trace))
    cleanup = stage_entries(trace, "CleanupHost")
    if (stage, role) in BEFORE_CLEANUP_HOST:
        assert not cleanup, "who ran CleanupHost?\n%s" % layout(trace)
    else:
        ran = [s for s in cleanup if s["role"] == "cleanup_host" and s["exit_ns"] and s["rc"] == 0]
        assert ran, "CLEANUP_HOST did not run CleanupHost to its end after the master died in %s\n%s" % (
            stage, layout(trace))
    assert wait_until(lambda: not pid_file.exists()), \
        "the pid file PostStartHost wrote is still there: CleanupHost did not undo PostStartHost"
    alive = [p["pid"] for p in trace["processes"] if p.get("exit_ns") is None]
    assert not alive, "processes of the launch never exited: %s" % alive


# --------------------------------------------------------------------------
# a launch that fails in each stage


def _bad_bundle(world, text):
    d = world.user_dir("bad-bundle")
    (d / "config.json").write_text(text)
    os.chmod(d / "config.json", 0o644)
    return d


def _missing_bind_source_bundle(world):
    cfg = json.loads(subprocess.run([str(world.userns_binary), "--print-config", "--flow", "root", "--rootfs",
                                     str(world.rootfs_user), "--", "true"],
                                    stdout=subprocess.PIPE, check=True).stdout)
    cfg["process"]["user"] = {"uid": NOBODY, "gid": NOBODY}
    cfg["process"]["capabilities"] = {k: [] for k in cfg["process"]["capabilities"]}
    cfg["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/no-such-bind-source",
                          "options": ["rbind"]})
    return _bad_bundle(world, json.dumps(cfg))


# (stage, role, how: "engine" or a real input, expected exit, errno the stage's rc names or None)
FAIL_POINTS = [
    ("Config", "stage1", "bundle-malformed"),
    ("InitConfig", "stage1", "engine"),
    ("PrepareConfig", "stage1", "rootfs-missing"),
    ("Config", "master", "engine"),
    ("InitConfig", "master", "engine"),
    ("CreateContainer", "master", "bind-source-missing"),
    ("StartProcess", "stage2", "command-not-found"),
    ("PostStartProcess", "master", "engine"),
    ("MonitorContainer", "master", "engine"),
    ("CleanupContainer", "master", "engine"),
    ("PostStartHost", "post_start_host", "pid-file-unwritable"),
    ("CleanupHost", "cleanup_host", "engine"),
]
# Failures of the launch itself (cnlaunch's own status); after these the container ran.
LAUNCH_FAILS = {"Config": 125, "InitConfig": 125, "PrepareConfig": 125, "CreateContainer": 125,
                "StartProcess": 127, "PostStartProcess": 125, "MonitorContainer": 125, "CleanupContainer": 125}


@pytest.mark.parametrize("stage,role,how", FAIL_POINTS,
                         ids=["%s-%s-%s" % (s, r, h) for s, r, h in FAIL_POINTS])
def test_launch_failing_in_each_stage_shows_the_stage_and_cleanup_host(world, untouched, fault_launchers,
                                                                       stage, role, how):
    extra, cmd = [], ["true"]
    rootfs_override = None
    pid_file = world.user_dir("stagefail") / "container.pid"
    if how == "engine":
        extra = ["--engine", "fault-fail-%s-%s" % (stage, role)]
    elif how == "bundle-malformed":
        extra = ["--bundle", _bad_bundle(world, '{"process": {"args": ["true"], ')]
    elif how == "rootfs-missing":
        rootfs_override = world.dir / "no-such-rootfs"
    elif how == "bind-source-missing":
        extra = ["--bundle", _missing_bind_source_bundle(world)]
    elif how == "command-not-found":
        cmd = ["no-such-command-cntrace"]
    elif how == "pid-file-unwritable":
        pid_file = world.dir / "files" / "pid-file-the-caller-cannot-write"  # root's 0755 dir
    out = Path(tempfile.mkdtemp(prefix="faults.")) / "trace.json"
    argv = launch_argv(world, "setuid", fault_launchers["setuid"], out, extra, cmd, pid_file)
    if rootfs_override is not None:
        argv[argv.index("--rootfs") + 1] = str(rootfs_override)
    launch = Launch(argv, world.dir)
    try:
        rc = launch.finish()
        trace = read_trace(out, launch)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)

    failed = [s for s in stage_entries(trace, stage, role) if s["rc"] is not None and s["rc"] < 0]
    assert failed, "the trace shows no failed %s of %s\n%s\n%s" % (stage, role, layout(trace), launch)
    if how == "engine":
        assert failed[0]["rc"] == -5, "the fault engine fails with EIO: rc %s" % failed[0]["rc"]
    cleanup = [s for s in stage_entries(trace, "CleanupHost") if s["exit_ns"]]
    assert cleanup, "no CleanupHost ran after the launch failed in %s\n%s" % (stage, layout(trace))
    if role == "stage1":
        assert [s["role"] for s in cleanup] == ["stage1"], \
            "STAGE1 cleans up itself when it fails first\n%s" % layout(trace)
    elif stage != "CleanupHost":
        assert all(s["rc"] == 0 for s in cleanup) and cleanup[0]["role"] == "cleanup_host", layout(trace)
    want = LAUNCH_FAILS.get(stage, 0)
    assert rc == want, "want exit %d for a failure in %s\n%s" % (want, stage, launch)
    lines = [l for l in launch.lines if l is not None]
    assert len(lines) == 1 and lines[0].startswith("cnlaunch: ") and stage in lines[0], \
        "want one line `cnlaunch: %s: ...` on stderr\n%s" % (stage, launch)
    assert trace["tracer"]["lost_events"] == 0 and trace["tracer"]["complete"], trace["tracer"]
    if stage != "CleanupHost":  # a CleanupHost that fails undoes nothing: the pid file may stay
        assert not pid_file.exists() or how == "pid-file-unwritable", "CleanupHost left %s" % pid_file


# --------------------------------------------------------------------------
# the ring buffer forced to overflow

FORK_STORM = ["/bin/sh", "-c", "for i in $(seq 150); do /bin/true & done; wait"]


@pytest.mark.parametrize("ring", [4096, None], ids=["tiny-ring", "default-ring"])
def test_ring_buffer_overflow_is_reported_and_fails_the_check(world, untouched, ring):
    out = Path(tempfile.mkdtemp(prefix="faults.")) / "trace.json"
    extra = ["--check"] + (["--ring-buffer-size", str(ring)] if ring else [])
    argv = launch_argv(world, "root", world.root_binary, out, cmd=FORK_STORM)
    argv[2:2] = extra  # trace options right after "run"
    launch = Launch(argv, world.dir)
    try:
        rc = launch.finish()
        trace = read_trace(out, launch)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    lost = trace["tracer"]["lost_events"]
    text = "\n".join(l for l in launch.lines if l is not None)
    if ring is None:  # the control: the same storm, the default ring, nothing lost
        assert lost == 0 and rc == 0, "the default ring buffer lost events or the check failed\n%s" % launch
        return
    assert lost > 0, "a %d-byte ring buffer lost nothing under %s: %s" % (ring, FORK_STORM, trace["tracer"])
    assert trace["tracer"]["losses"]["events"] == lost, trace["tracer"]
    assert rc == 1, "--check must fail (exit 1) when events were lost\n%s" % launch
    assert "events were lost" in text, "cntrace should warn that the trace is incomplete\n%s" % launch
    assert "VIOLATION all.no-lost-events" in text, "the loss must be the violation reported\n%s" % launch

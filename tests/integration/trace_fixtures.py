# SPDX-License-Identifier: Apache-2.0
"""Black-box helpers for the tracer contract tests (test_trace_contract_*.py).

Everything here reads only what DESIGN.md's "Contract that outside tests rely
on" and issue 3 promise: the `cntrace run | exec | report` command lines, the
exit statuses, and the JSON trace of schema "cntrace.trace/1". It does not
import the tracer's own test helpers, so the two suites check each other.

The cntrace binary comes from CNTRACE, else CN_BUILD_ROOT/cli/cntrace, else
build/cli/cntrace of this checkout. A missing binary fails every test that
needs it, with the path it looked at: nothing here skips.

Test modules import the fixtures they use by name, e.g.
    from trace_fixtures import tracer, flow_traces  # noqa: F401 (pytest fixtures)
"""

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import NOBODY, REPO, Flow

TRACE_SCHEMA = "cntrace.trace/1"
TEN_STAGES = ("Config", "InitConfig", "PrepareConfig", "CreateContainer", "StartProcess",
              "PostStartProcess", "MonitorContainer", "CleanupContainer", "PostStartHost", "CleanupHost")
ROLES = frozenset({"starter", "stage1", "stage2", "master", "rpc_server", "post_start_host",
                   "cleanup_host", "container", "other"})
# The roles of cnlaunch's own processes: one process each in a plain launch.
LAUNCHER_ROLES = ("master", "stage1", "stage2", "rpc_server", "post_start_host", "cleanup_host")
# DESIGN.md's table: which role runs a stage (a successful launch: CleanupHost by CLEANUP_HOST).
STAGE_ROLE = {
    "PrepareConfig": "stage1",
    "CreateContainer": "master",
    "StartProcess": "stage2",
    "PostStartProcess": "master",
    "MonitorContainer": "master",
    "CleanupContainer": "master",
    "PostStartHost": "post_start_host",
    "CleanupHost": "cleanup_host",
}
MASTER_STAGES = ("CreateContainer", "PostStartProcess", "MonitorContainer", "CleanupContainer")
CAP_SETS = ("effective", "permitted", "inheritable", "bounding", "ambient")
# What the RPC server does for the master during CreateContainer: mounts.
MOUNT_SYSCALLS = frozenset({"mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
                            "move_mount", "mount_setattr", "pivot_root"})
EXEC_SYSCALLS = frozenset({"execve", "execveat"})
TIMEOUT = 90


# --------------------------------------------------------------------------
# the binary


def cntrace_path():
    # Absolute: cntrace runs with the temp dir as its working directory.
    if os.environ.get("CNTRACE"):
        return Path(os.environ["CNTRACE"]).absolute()
    build = Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build")
    return (build / "cli" / "cntrace").absolute()


@pytest.fixture(scope="session")
def tracer(world, leftovers):
    """The cntrace binary and a place for trace files (outside the launcher's temp dir)."""
    path = cntrace_path()
    if os.geteuid() != 0:
        pytest.fail("trace contract setup: these tests must run as root (BPF, setuid copies)", pytrace=False)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail("trace contract setup: no cntrace binary at %s (build it: ninja -C build, or set "
                    "CNTRACE); every tracer contract test needs it" % path, pytrace=False)
    out = Path(tempfile.mkdtemp(prefix="trace-contract."))
    yield Tracer(path, world, leftovers, out)
    shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------
# one cntrace invocation


@dataclasses.dataclass
class Traced:
    argv: list
    rc: int
    out: str
    err: str
    trace: dict      # the JSON trace (None when cntrace wrote none)
    trace_file: Path
    trace_error: str  # why the trace could not be read, or ""
    launcher: Path = None  # the --launcher of a `cntrace run`

    def __str__(self):
        err = self.err if len(self.err) < 8000 else "[...]" + self.err[-8000:]
        return "$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(map(str, self.argv)), self.rc, self.out[-4000:], err)

    # -- the JSON, with messages that show the run when something is missing

    def json(self):
        assert self.trace is not None, "cntrace wrote no readable trace to %s (%s)\n%s" % (
            self.trace_file, self.trace_error, self)
        return self.trace

    @property
    def processes(self):
        procs = self.json().get("processes")
        assert isinstance(procs, list), "trace has no processes[] list\n%s" % self
        return procs

    @property
    def stages(self):
        stages = self.json().get("stages")
        assert isinstance(stages, list), "trace has no stages[] list\n%s" % self
        return stages

    def process(self, pid):
        found = [p for p in self.processes if p.get("pid") == pid]
        assert len(found) == 1, "trace has %d processes with pid %r (want 1)\n%s" % (len(found), pid,
                                                                                  self.layout())
        return found[0]

    def by_role(self, role):
        return [p for p in self.processes if p.get("role") == role]

    def one_by_role(self, role):
        found = self.by_role(role)
        assert len(found) == 1, "want exactly one process with role %s, trace has %d\n%s" % (
            role, len(found), self.layout())
        return found[0]

    def stage(self, name):
        """Every stages[] entry named `name` (at least one)."""
        found = [s for s in self.stages if s.get("name") == name]
        assert found, "no stage %s in the trace\n%s" % (name, self.layout())
        return found

    def one_stage(self, name):
        found = self.stage(name)
        assert len(found) == 1, "want one %s stage, trace has %d (pids %s)\n%s" % (
            name, len(found), [s.get("pid") for s in found], self.layout())
        return found[0]

    def layout(self):
        """A short picture of processes and stages for failure messages."""
        lines = ["processes:"]
        for p in (self.trace or {}).get("processes") or []:
            lines.append("  pid %s ppid %s role %s exit %s execs %s" % (
                p.get("pid"), p.get("ppid"), p.get("role"), p.get("exit_code"),
                json.dumps(p.get("execs"))[:160]))
        lines.append("stages:")
        for s in (self.trace or {}).get("stages") or []:
            lines.append("  %-17s pid %s" % (s.get("name"), s.get("pid")))
        return "\n".join(lines)

    def syscalls_of_pid(self, pid):
        """{name: [count, errors]} of process pid, all its life.

        The contract lists syscall counts per stage (stages[].syscalls); issue 3 promises them per
        process as well. A process's syscalls after its last stage (the container's own, after
        StartProcess returned and the command was exec'd) need not belong to any stage, so a
        per-process `syscalls` object in processes[] (same {NAME: {count, errors}} shape) is used
        when the trace has one; otherwise the stage entries of that pid are summed."""
        own = self.process(pid).get("syscalls")
        entries = [{"syscalls": own}] if isinstance(own, dict) else [s for s in self.stages
                                                                       if s.get("pid") == pid]
        total = {}
        for s in entries:
            for name, v in (s.get("syscalls") or {}).items():
                c = total.setdefault(name, [0, 0])
                c[0] += v.get("count", 0)
                c[1] += v.get("errors", 0)
        return total

    def container_pid(self):
        """The pid that ran StartProcess, i.e. the process that execs the command."""
        return self.one_stage("StartProcess")["pid"]


class Tracer:
    """Runs cntrace as root (it loads BPF) and reads what it wrote."""

    def __init__(self, path, world, leftovers, out_dir):
        self.path = path
        self.world = world
        self.leftovers = leftovers
        self.out_dir = out_dir
        self._n = 0

    def trace_file(self, tag):
        self._n += 1
        return self.out_dir / ("%03d.%s.json" % (self._n, tag))

    def invoke(self, argv, trace_file=None, timeout=TIMEOUT, check_leftovers=True, caller=None, cwd=None):
        """Run argv (a full command line); load trace_file when given."""
        before = self.leftovers.snapshot(False) if check_leftovers else None
        env = dict(os.environ, LC_ALL="C")
        full = argv if caller is None else caller + argv
        try:
            p = subprocess.run([str(a) for a in full], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=str(cwd or self.world.dir),
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("cntrace did not finish within %d s: %s\nstdout: %r\nstderr: %r" % (
                timeout, " ".join(map(str, full)), e.stdout, e.stderr)) from None
        trace, why = None, ""
        if trace_file is not None:
            try:
                trace = json.loads(Path(trace_file).read_text())
            except FileNotFoundError:
                why = "no such file"
            except (OSError, ValueError) as e:
                why = "unreadable: %s" % e
        res = Traced(full, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                     trace, trace_file, why)
        if check_leftovers:
            self.leftovers.assert_same(before, "cntrace\n%s\n" % res, False)
        return res

    def run(self, flow_name, cmd, extra=(), rootfs=None, tag=None):
        """`cntrace run` of cmd through cnlaunch in one of the three flows, as conftest sets them up:
        setuid = root-owned 4755 copy run --as 65534, userns = plain copy --as 65534, root = plain copy."""
        flow = Flow(flow_name, self.world, self.leftovers)
        out = self.trace_file(tag or flow_name)
        argv = [self.path, "run", "-o", out, "--launcher", flow.binary]
        if flow.caller_uid != 0:
            argv += ["--as", str(NOBODY)]
        argv += list(extra)
        argv += ["--flow", flow_name, "--rootfs", rootfs or flow.rootfs, "--"] + list(cmd)
        res = self.invoke(argv, out)
        res.launcher = flow.binary
        return res

    def exec(self, program, extra=(), tag="exec"):
        out = self.trace_file(tag)
        argv = [self.path, "exec", "-o", out] + list(extra) + ["--"] + list(program)
        return self.invoke(argv, out)

    def report(self, trace_file):
        return self.invoke([self.path, "report", trace_file], check_leftovers=False)


# --------------------------------------------------------------------------
# launches shared by many tests: one traced launch per flow


FLOW_CMD = ["/bin/sh", "-c", "cat /proc/self/status; exit 7"]
FLOW_EXIT = 7


class FlowTraces:
    """One `cntrace run` per flow, made on first use; a failure is kept and re-raised by every user."""

    def __init__(self, tracer):
        self.tracer = tracer
        self._done = {}

    def __getitem__(self, flow_name):
        if flow_name not in self._done:
            try:
                self._done[flow_name] = (self.tracer.run(flow_name, FLOW_CMD), None)
            except AssertionError as e:
                self._done[flow_name] = (None, e)
        res, err = self._done[flow_name]
        if err is not None:
            raise AssertionError("the %s flow's traced launch failed:\n%s" % (flow_name, err))
        return res


@pytest.fixture(scope="session")
def flow_traces(tracer):
    return FlowTraces(tracer)


# --------------------------------------------------------------------------
# reading cred objects, transitions and capability checks wherever they are


def is_cred(obj):
    return isinstance(obj, dict) and "uid" in obj and "caps" in obj and "userns_level" in obj


def is_transition(obj):
    return isinstance(obj, dict) and "before" in obj and "after" in obj and "raise" in obj


def is_cap_check(obj):
    return isinstance(obj, dict) and "cap" in obj and "granted" in obj and "host_ns" in obj


def walk(obj, path="$"):
    """Every (json path, dict) in obj, depth first."""
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from walk(v, "%s.%s" % (path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, "%s[%d]" % (path, i))


def all_creds(trace):
    return [(p, o) for p, o in walk(trace) if is_cred(o)]


def all_transitions(trace):
    return [(p, o) for p, o in walk(trace) if is_transition(o)]


def all_cap_checks(trace):
    return [(p, o) for p, o in walk(trace) if is_cap_check(o)]


def host_privilege(cred):
    """Why cred holds host privilege (DESIGN.md), or "" when it does not."""
    why = []
    if 0 in cred["uid"]:
        why.append("host uid 0 in r/e/s/fs %s" % cred["uid"])
    if cred["userns_level"] == 0:
        for s in ("effective", "permitted"):
            if cred["caps"].get(s):
                why.append("%s %s at userns level 0" % (s, cred["caps"][s]))
    return "; ".join(why)


def cred_text(cred):
    return "uid %s gid %s level %s caps %s" % (cred.get("uid"), cred.get("gid"), cred.get("userns_level"),
                                              {k: v for k, v in cred.get("caps", {}).items() if v})


def exec_texts(process):
    """The strings an execs[] entry carries (a path, or an object with filename/argv/...)."""
    return [s for e in process.get("execs") or [] for s in _strings(e)]


def _strings(obj):
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def one_line_error(res, prefix="cntrace: "):
    """Assert stderr is exactly one line starting with prefix; return it."""
    lines = res.err.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(lines) == 1, "want exactly one line on stderr, got %d\n%s" % (len(lines), res)
    assert lines[0].startswith(prefix), "stderr must start with %r\n%s" % (prefix, res)
    return lines[0]


# --------------------------------------------------------------------------
# a static test program with known syscall counts


SYSCALL_PROGRAM = r"""
/* cnt-syscalls GETPPID OPENAT_ENOENT DUP_CLOSE: makes exactly that many of each. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n_getppid = argc > 1 ? atol(argv[1]) : 0;
	long n_openat = argc > 2 ? atol(argv[2]) : 0;
	long n_dup = argc > 3 ? atol(argv[3]) : 0;

	for (long i = 0; i < n_getppid; i++)
		syscall(SYS_getppid);
	for (long i = 0; i < n_openat; i++)
		if (syscall(SYS_openat, AT_FDCWD, "/cntrace-contract-no-such-file", O_RDONLY) >= 0)
			return 2;
	for (long i = 0; i < n_dup; i++) {
		long fd = syscall(SYS_dup, 2);
		if (fd < 0)
			return 3;
		if (syscall(SYS_close, fd) != 0)
			return 4;
	}
	return 0;
}
"""
PROGRAM_IN_ROOTFS = "/bin/cnt-syscalls"


@dataclasses.dataclass
class SyscallProgram:
    host_path: Path
    rootfs: dict  # flow name -> rootfs copy holding it at PROGRAM_IN_ROOTFS


@pytest.fixture(scope="session")
def syscall_program(world):
    """The static program, built with gcc -static, and rootfs copies (root- and 65534-owned) holding it."""
    d = Path(tempfile.mkdtemp(prefix="prog.", dir=world.dir))
    os.chmod(d, 0o755)
    src = d / "cnt-syscalls.c"
    src.write_text(SYSCALL_PROGRAM)
    binary = d / "cnt-syscalls"
    p = subprocess.run(["gcc", "-static", "-O1", "-o", str(binary), str(src)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, check=False)
    if p.returncode != 0:
        pytest.fail("cannot build the static test program (gcc, libc6-dev's libc.a):\n%s" %
                    p.stdout.decode(errors="replace"), pytrace=False)
    os.chmod(binary, 0o755)
    copies = {}
    for owner, flows in ((None, ("root",)), (NOBODY, ("setuid", "userns"))):
        dest = world.rootfs_copy(d / ("rootfs-%s" % (owner or 0)), owner=owner)
        target = dest / PROGRAM_IN_ROOTFS.lstrip("/")
        shutil.copyfile(binary, target)
        os.chmod(target, 0o755)
        if owner:
            os.chown(target, owner, owner)
        for f in flows:
            copies[f] = dest
    return SyscallProgram(binary, copies)

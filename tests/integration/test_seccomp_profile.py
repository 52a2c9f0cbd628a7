# SPDX-License-Identifier: Apache-2.0
"""`cntrace seccomp-profile`: a profile made from a real trace runs the same command
again, the same way, under cnlaunch --seccomp; a syscall outside it fails with EPERM
(--default-action errno) or kills the process with SIGSYS (--default-action kill).

Each promise is checked in every flow (the filter is loaded before the final drop
without no_new_privs, last thing before execve with it), and each has a control run
without the profile, so that a test that passes cannot pass for the wrong reason."""
import json
import os
import signal
import subprocess

import pytest

from conftest import NOBODY, Flow, seccomp_arches

# What the container runs: a shell that forks (ls is a child: SIGCHLD, rt_sigreturn),
# writes and exits with a status of its own.
COMMAND = ["/bin/sh", "-c", "echo traced; ls /; exit 3"]
# The same, then one syscall the traced run never made (mkdir, in a child) on a tmpfs
# that is gone with the container, then what it got; and in the container's process itself.
OUTSIDE = ["/bin/sh", "-c", "echo traced; ls /; mkdir /dev/shm/probe; echo after $?"]
OUTSIDE_EXEC = ["/bin/sh", "-c", "echo traced; ls /; exec mkdir /dev/shm/probe"]
SIGSYS_EXIT = 128 + signal.SIGSYS


def _trace(cntrace, world, flow_name, cmd):
    if flow_name == "root":
        return cntrace.run(cmd, launcher=world.root_binary, flow="root", rootfs=world.rootfs_root)
    launcher = world.setuid_binary if flow_name == "setuid" else world.userns_binary
    return cntrace.run(cmd, as_user=NOBODY, launcher=launcher, flow=flow_name, rootfs=world.rootfs_user)


def _profile(cntrace, world, trace, *args, expect_rc=0):
    """cntrace seccomp-profile ARGS TRACE -o FILE (root-owned, readable by the caller):
    (path, profile dict)."""
    path = world.dir / "files" / ("seccomp-%s-%s.json" % ("-".join(map(str, args)) or "default",
                                                        os.path.basename(trace.path)))
    argv = [cntrace.binary, "seccomp-profile", *map(str, args), "-o", str(path), trace.path]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == expect_rc, "$ %s\nexit %d\n%s" % (" ".join(argv), p.returncode, p.stderr)
    os.chmod(path, 0o644)
    with open(path) as f:
        return path, json.load(f)


def _names(profile):
    return [n for rule in profile["syscalls"] for n in rule["names"]]


@pytest.fixture(scope="module", params=["root", "setuid", "userns"])
def traced(request, cntrace, world):
    """One real trace of COMMAND per flow, and its errno and kill profiles."""
    trace = _trace(cntrace, world, request.param, COMMAND)
    assert trace.exit_code == 3, trace.stderr
    errno_path, errno_profile = _profile(cntrace, world, trace)
    kill_path, kill_profile = _profile(cntrace, world, trace, "--default-action", "kill")
    return {"flow": request.param, "trace": trace, "errno": (errno_path, errno_profile),
            "kill": (kill_path, kill_profile)}


def test_profile_is_an_oci_allowlist_for_the_traced_arch(traced):
    _, profile = traced["errno"]
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1  # EPERM
    assert profile["architectures"] == seccomp_arches()
    assert [r["action"] for r in profile["syscalls"]] == ["SCMP_ACT_ALLOW"]
    names = _names(profile)
    assert names == sorted(set(names)), "names must be sorted and unique"
    # what the command did after its execve is there (the trace gives it to no stage) ...
    for name in ("execve", "write", "wait4", "exit_group", "getdents64"):
        assert name in names
    # ... the return from its SIGCHLD handler too (the trace counts it as "none") ...
    assert "rt_sigreturn" in names
    # ... and what it never did is not
    assert "mkdir" not in names and "mkdirat" not in names
    _, kill = traced["kill"]
    assert kill["defaultAction"] == "SCMP_ACT_KILL_PROCESS" and "defaultErrnoRet" not in kill
    assert _names(kill) == names


def test_profile_runs_the_traced_command_the_same_way(traced, world, leftovers):
    flow = Flow(traced["flow"], world, leftovers)
    path, _ = traced["errno"]
    confined = flow.run("--seccomp", path, cmd=COMMAND)
    assert confined.rc == 3, confined
    assert confined.out == traced["trace"].stdout
    assert confined.out.startswith("traced\n") and "proc\n" in confined.out
    killing, _ = traced["kill"]
    assert flow.run("--seccomp", killing, cmd=COMMAND).out == traced["trace"].stdout


def test_a_syscall_outside_the_profile_fails_with_eperm(traced, world, leftovers):
    flow = Flow(traced["flow"], world, leftovers)
    free = flow.run(cmd=OUTSIDE)  # the control: without the profile mkdir works
    assert free.rc == 0 and "after 0" in free.out, free
    path, _ = traced["errno"]
    confined = flow.run("--seccomp", path, cmd=OUTSIDE)
    assert confined.rc == 0, confined
    assert confined.out == free.out.replace("after 0", "after 1"), confined
    assert "Operation not permitted" in confined.err, confined


def test_a_syscall_outside_the_profile_is_killed_by_sigsys(traced, world, leftovers):
    flow = Flow(traced["flow"], world, leftovers)
    path, _ = traced["kill"]
    # the child that made it dies of SIGSYS; its shell goes on and says so
    confined = flow.run("--seccomp", path, cmd=OUTSIDE)
    assert confined.rc == 0 and "after %d" % SIGSYS_EXIT in confined.out, confined
    # the container's own process: the launch ends with it, 128+SIGSYS
    assert flow.run(cmd=OUTSIDE_EXEC).rc == 0  # the control
    confined = flow.run("--seccomp", path, cmd=OUTSIDE_EXEC)
    assert confined.rc == SIGSYS_EXIT, confined
    assert confined.out.startswith("traced\nbin\n"), confined


def test_stage_container_is_the_command_alone(cntrace, world, traced):
    _, full = traced["errno"]
    _, container = _profile(cntrace, world, traced["trace"], "--stage", "container")
    _, start = _profile(cntrace, world, traced["trace"], "--stage", "StartProcess")
    assert start == full
    assert set(_names(container)) < set(_names(full))
    assert "execve" in _names(container)
    # the final drop is StartProcess's, not the command's
    assert "capset" in _names(full) and "capset" not in _names(container)
    _, both = _profile(cntrace, world, traced["trace"], "--stage", "PrepareConfig", "--stage", "container")
    prepare = {n for n, c in traced["trace"].stage("PrepareConfig").syscalls().items() if c.count}
    assert set(_names(both)) == set(_names(container)) | (prepare - {"none"})


# --------------------------------------------------------------------------
# bad input: one line, exit 2, no profile written


def _refused(cntrace, world, *args, needles=()):
    out = world.dir / "files" / "refused-profile.json"
    argv = [cntrace.binary, "seccomp-profile", "-o", str(out), *map(str, args)]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    lines = p.stderr.splitlines()
    assert p.returncode == 2, "$ %s\nexit %d\n%s" % (" ".join(argv), p.returncode, p.stderr)
    assert len(lines) == 1 and lines[0].startswith("cntrace: "), p.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not out.exists(), "a refused profile must not be written"
    assert not [n for n in os.listdir(out.parent) if n.startswith(out.name)], "temp file left behind"
    return lines[0]


def test_bad_input_is_refused_in_one_line(cntrace, world, traced, tmp_path):
    trace = traced["trace"].path
    _refused(cntrace, world, tmp_path / "missing.json", needles=["missing.json", "No such file"])
    (tmp_path / "notjson.json").write_text("{ not json")
    _refused(cntrace, world, tmp_path / "notjson.json", needles=["notjson.json", "not JSON"])
    (tmp_path / "other.json").write_text('{"schema": "something/1"}')
    _refused(cntrace, world, tmp_path / "other.json", needles=["other.json", "not a cntrace trace"])
    _refused(cntrace, world, "--stage", "Bogus", trace, needles=["--stage", "Bogus"])
    _refused(cntrace, world, "--default-action", "log", trace, needles=["--default-action", "log"])
    _refused(cntrace, world, trace, "--stage", needles=["--stage needs a value"])
    lossy = json.loads(open(trace).read())
    lossy["tracer"]["lost_events"] = 7
    (tmp_path / "lossy.json").write_text(json.dumps(lossy))
    _refused(cntrace, world, tmp_path / "lossy.json", needles=["lost 7 events"])


def test_a_trace_without_the_stage_is_refused(cntrace, world):
    exec_trace = cntrace.exec(["/bin/true"])
    line = _refused(cntrace, world, exec_trace.path, needles=["no StartProcess stage"])
    assert exec_trace.path in line

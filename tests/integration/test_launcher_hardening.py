"""Attacks on the launcher, each mounted for real and shown failing; where the
attack itself could be doubted, a control shows it succeeding against a target
that lacks the defence."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import NOBODY, container_init_pid, descendants

# Hold the launcher's binary open, and write it as soon as no process executes it any more
# (ETXTBSY until then), as CVE-2019-5736's exploit does.
# (The container's init opens it while the launcher surely still runs, and leaves it to a child.)
ATTACK = ("exec 3< /proc/$PPID/exe; (for i in $(seq 100); do sleep 0.1; "
          "if echo pwned 2>/tmp/err > /proc/self/fd/3; then echo WROTE; exit; fi; "
          "grep -q busy /tmp/err || break; done; cat /tmp/err; echo REFUSED) "
          "> /tmp/attack.out 2>&1 & exit 0")


def _sha(path):
    return subprocess.run(["sha256sum", str(path)], stdout=subprocess.PIPE, check=True).stdout.split()[0]


def _wait_for(path, timeout=15.0, last_line=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text and (last_line is None or text.splitlines()[-1] in last_line):
            return text
        time.sleep(0.05)
    raise AssertionError("%s never appeared" % path)


def _no_pid_namespace_bundle(world, name, rootfs, args, binary):
    """A bundle whose container shares the host's pid namespace: it sees the launcher's processes."""
    out = subprocess.run([str(binary), "--print-config", "--rootfs", str(rootfs), "--", *args],
                         stdout=subprocess.PIPE, check=True).stdout
    config = json.loads(out)
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "pid"]
    bundle = world.dir / name
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


@pytest.fixture
def attack_rootfs(world, tmp_path):
    rootfs = world.dir / ("rootfs-attack-%d" % time.monotonic_ns())
    world.rootfs_copy(rootfs, owner=None)
    yield rootfs
    shutil.rmtree(rootfs, ignore_errors=True)


def test_root_container_cannot_rewrite_cnlaunch_through_proc_exe(world, attack_rootfs):
    """CVE-2019-5736: root in the container, seeing the master (no pid namespace) and holding
    CAP_SYS_PTRACE, opens /proc/MASTER/exe and writes it once the master is gone."""
    victim = world.dir / "cnlaunch-victim"
    shutil.copyfile(world.source_binary, victim)
    os.chmod(victim, 0o755)
    before = _sha(victim)
    bundle = _no_pid_namespace_bundle(world, "bundle-exe-attack", attack_rootfs, ["sh", "-c", ATTACK], victim)
    # Without cgroups: the container's own cgroup would end the attacker with the container
    # (cnlaunch kills what is left in it), and the read-only mount is the defence shown here.
    subprocess.run([str(victim), "--bundle", str(bundle), "--cap-add", "CAP_SYS_PTRACE", "--cgroup-manager",
                    "disabled"], check=True)
    verdict = _wait_for(attack_rootfs / "tmp" / "attack.out", last_line=("WROTE", "REFUSED"))
    assert "REFUSED" in verdict and "Read-only file system" in verdict, verdict
    assert _sha(victim) == before


def test_breach_the_same_attack_rewrites_a_binary_run_without_the_defence(world, attack_rootfs):
    """Control: the attack works against a process whose binary is not behind a read-only mount."""
    target = world.dir / "plain-sleep"
    shutil.copyfile(shutil.which("sleep"), target)
    os.chmod(target, 0o755)
    host = subprocess.Popen([str(target), "0.5"])
    attack = ATTACK.replace("$PPID", "%d" % host.pid)
    bundle = _no_pid_namespace_bundle(world, "bundle-exe-control", attack_rootfs, ["sh", "-c", attack],
                                      world.source_binary)
    subprocess.run([str(world.root_binary), "--bundle", str(bundle), "--cap-add", "CAP_SYS_PTRACE", "--cgroup-manager",
                    "disabled"], check=True)
    host.wait()
    verdict = _wait_for(attack_rootfs / "tmp" / "attack.out", last_line=("WROTE", "REFUSED"))
    assert "WROTE" in verdict, verdict
    assert target.read_bytes().startswith(b"pwned")


def test_no_host_fd_reaches_the_container(flow, world):
    """The caller leaves a file, a directory and an O_PATH fd open: none is visible inside."""
    fds = [os.open("/etc/hostname", os.O_RDONLY), os.open("/", os.O_RDONLY | os.O_DIRECTORY),
           os.open("/etc", os.O_PATH)]
    try:
        for fd in fds:
            os.set_inheritable(fd, True)
        argv = flow._caller(flow.argv(cmd=["ls", "/proc/self/fd"]))
        p = subprocess.run(argv, pass_fds=fds, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    finally:
        for fd in fds:
            os.close(fd)
    assert p.returncode == 0, p.stderr
    # ls's own directory fd is the only one above stderr
    assert sorted(int(x) for x in p.stdout.split()) == [0, 1, 2, 3], p.stdout


@pytest.mark.parametrize("cwd", ["/../../..", "/proc/self/root/../..", "/tmp/../../.."])
def test_cwd_cannot_leave_the_rootfs(flow, cwd):
    out = flow.run("--cwd", cwd, cmd=["sh", "-c", "pwd; ls -d /etc/hostname; cat /etc/hostname"]).ok()
    assert out.splitlines()[-1] == "cnlaunch"  # the rootfs's /etc/hostname, not the host's


@pytest.fixture(scope="module")
def marker_library(world):
    """A library whose constructor leaves a marker file (in a directory the caller
    may write): proof that it was loaded."""
    markdir = world.user_dir("marker")
    src = world.dir / "marker.c"
    lib = world.dir / "libmarker.so"
    src.write_text('#include <fcntl.h>\n#include <unistd.h>\n'
                   '__attribute__((constructor)) static void mark(void) {\n'
                   '  int fd = open("%s/loaded", O_WRONLY | O_CREAT | O_APPEND, 0666);\n'
                   '  if (fd >= 0) { write(fd, "x", 1); close(fd); }\n}\n' % markdir)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    os.chmod(lib, 0o755)
    return lib, markdir / "loaded"


def _as_caller_with_hostile_env(lib, world, argv):
    """setpriv runs clean; only the program it becomes gets the caller's hostile variables."""
    hostile = ["LD_PRELOAD=%s" % lib, "LD_LIBRARY_PATH=%s" % world.dir, "LD_AUDIT=%s" % lib,
               "GCONV_PATH=%s" % world.dir, "LOCPATH=%s" % world.dir]
    return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--",
            "env", *hostile, *argv]


def test_setuid_environment_cannot_load_code_into_the_privileged_launcher(world, marker_library):
    lib, marker = marker_library
    marker.unlink(missing_ok=True)
    argv = _as_caller_with_hostile_env(lib, world, [str(world.setuid_binary), "--rootfs", str(world.rootfs_user),
                                                    "--", "env"])
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 0, p.stderr
    assert not marker.exists(), "the caller's library ran inside the setuid launcher"
    assert b"LD_PRELOAD" not in p.stdout and b"LD_LIBRARY_PATH" not in p.stdout


def test_breach_the_same_environment_loads_the_library_into_a_plain_program(world, marker_library):
    """Control: the library and the variables do work on a program that is not setuid."""
    lib, marker = marker_library
    marker.unlink(missing_ok=True)
    subprocess.run(_as_caller_with_hostile_env(lib, world, ["/bin/true"]), check=True, stderr=subprocess.DEVNULL)
    assert marker.exists()
    marker.unlink()


def test_sigkill_of_cnlaunch_leaves_no_container_and_cleanup_host_runs(flow, world):
    piddir = world.user_dir("pidkill")
    pidfile = piddir / "container.pid"
    p = flow.popen("--pid-file", pidfile, cmd=["sleep", "30"])
    container = container_init_pid(p.pid, ["sleep", "30"])
    _wait_for(pidfile)
    helpers = [pid for pid in descendants(p.pid) if pid != container]
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (Path("/proc/%d" % container).exists() or pidfile.exists()):
        time.sleep(0.05)
    assert not Path("/proc/%d/status" % container).exists() or "zombie" in Path(
        "/proc/%d/status" % container).read_text(), "the container outlived cnlaunch"
    assert not pidfile.exists(), "CleanupHost did not undo PostStartHost after the master died"
    for pid in helpers:
        assert not Path("/proc/%d/cmdline" % pid).exists() or not Path("/proc/%d/cmdline" % pid).read_bytes()


def test_root_flow_reexec_through_a_read_only_mount_keeps_every_stage_in_the_trace(world):
    """The defence re-executes the master from a read-only bind of the same inode:
    the uprobes on that inode still fire, so the tracer sees all ten stages."""
    from tracer_support import traced_run
    stages = ("Config", "InitConfig", "PrepareConfig", "CreateContainer", "StartProcess", "PostStartProcess",
              "MonitorContainer", "CleanupContainer", "PostStartHost", "CleanupHost")
    res = traced_run(world, "root", ["true"])
    assert res.rc == 0, res
    (master,) = [p for p in res.trace["processes"] if p["role"] == "master"]
    execs = [e["filename"] for e in master["execs"]]
    assert execs == [str(world.root_binary)] * 2, "the master should run itself twice: %s" % execs
    assert {s["name"] for s in res.trace["stages"]} == set(stages)


NOOP_DROP = {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["setresuid", "setresgid", "setgroups", "capset", "prctl"],
                           "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}


def test_setuid_seccomp_profile_cannot_turn_the_drop_into_a_no_op(setuid, world):
    """errno 0 makes a filtered syscall "succeed" without doing anything; a setuid run
    loads filters only after the drop, with no_new_privs."""
    profile = world.write_file("noop-drop.json", json.dumps(NOOP_DROP))
    out = setuid.run("--seccomp", profile, cmd=["cat", "/proc/self/status"]).ok()
    assert "Uid:\t65534\t65534\t65534\t65534" in out
    assert "CapEff:\t0000000000000000" in out and "CapPrm:\t0000000000000000" in out


def test_breach_a_drop_made_a_no_op_by_seccomp_is_caught_by_verification(world, leftovers):
    """Without no_new_privs the root flow loads the filter before the drop (as runc does):
    the drop's syscalls then do nothing, and reading the credentials back refuses the launch."""
    from conftest import Flow
    root = Flow("root", world, leftovers)
    profile = world.write_file("noop-drop-root.json", json.dumps(NOOP_DROP))
    res = root.run("--seccomp", profile, "--user", "1000:1000", cmd=["id"])
    res.refused("StartProcess", "verify")

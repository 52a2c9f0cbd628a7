# SPDX-License-Identifier: Apache-2.0
"""Sub-cgroups for an exec (libcontainer's SubCgroupPaths): `cnlaunch exec --sub-cgroup PATH`
puts the command in PATH beneath the container's cgroup, in every hierarchy the container
has, on real launches on this hybrid machine.

- root: the command is in <container's cgroup>/PATH in each hierarchy (its /proc/self/cgroup,
  and the directories seen from the host); the container's pids limit still bounds it; PATH
  goes when the exec ends, the container's cgroup when the container does, also when the
  container is killed while an exec runs in PATH, and what an exec left running there is
  killed with the container (depth-first, even without a pid namespace to end it);
- bad PATH values are refused with one line, before anything exists;
- setuid: works in the container's cgroups (which the setuid rules made, root's), and the
  sub-cgroup is root's too; a container without cgroups is a refusal;
- userns: only in a cgroup delegated to the caller: refused without one, the caller's with one.

The conftest checks after every launch and exec that nothing is left behind; a container's
check covers every cgroup beneath its cnlaunch-PID.
"""

import os
import signal
import subprocess

import pytest

from conftest import LAUNCH_TIMEOUT, NOBODY, oci_config
from test_launcher_cgroups import (DEFAULT, HIERARCHIES, cgroup_dir, cgroups, gated, own_cgroups,  # noqa: F401
                                   proc_cgroups, procs, read)
from test_launcher_exec import _exec_command_pid, running, runtime_dir, wait_for  # noqa: F401


# test_launcher_cgroups.py's fork loop, its sleeps off the exec's stdout: they outlive it
FORK_LOOP = "i=0; while true; do sleep 100 >/dev/null 2>&1 & i=$((i+1)); echo $i; done"


def sub_dirs(c, sub, hierarchies):
    """{hierarchy: the directory of sub beneath the container's cgroup}, from the host's view of its process."""
    mine = own_cgroups(c.init_pid)
    return {h: cgroup_dir(h, mine[h] + "/" + sub) for h in hierarchies}


def exec_unchecked(c, cmd, *args):
    """An exec whose command leaves processes in the container: the container's own end checks
    that nothing is left (here they would be, until then, by design)."""
    argv = c.flow._caller(c.flow.argv(("exec", "--id", c.name) + args, cmd, rootfs=False))
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=LAUNCH_TIMEOUT, env=c.flow._env(), cwd=str(c.flow.world.dir), check=False,
                          text=True)


# --------------------------------------------------------------------------
# root


def test_root_exec_runs_in_the_sub_cgroup_of_each_hierarchy_and_it_goes_after(root):
    with running(root) as c:
        container = own_cgroups(c.init_pid)
        dirs = sub_dirs(c, "jobs/web", DEFAULT)
        assert sorted(c.state["cgroups"]) == sorted(os.path.dirname(os.path.dirname(d)) for d in dirs.values())
        out = c.exec(["cat", "/proc/self/cgroup"], "--sub-cgroup", "jobs/web").ok()
        inside = proc_cgroups(out)
        for h in HIERARCHIES:
            want = container[h] + "/jobs/web" if h in DEFAULT else container[h]
            assert inside[h] == want, "%s: the exec ran in %s, not %s\n%s" % (h, inside[h], want, out)
        # seen from the host while it runs: the directories, and the command in them
        p = c.exec_popen(["sleep", "30"], "--sub-cgroup", "jobs/web")
        try:
            pid = str(_exec_command_pid(p, ["sleep", "30"]))
            for h, d in dirs.items():
                assert procs(d) == [pid], "%s: %s holds %s, not the exec'd %s" % (h, d, procs(d), pid)
                assert pid not in procs(os.path.dirname(os.path.dirname(d)))
        finally:
            p.send_signal(signal.SIGTERM)
            res = root.wait_popen(p)
        assert res.rc == 128 + signal.SIGTERM, res
        # what the exec made goes with it; the container's cgroup stays while the container runs
        for d in dirs.values():
            jobs = os.path.dirname(d)
            assert not os.path.exists(jobs), "%s is left after the exec" % jobs
            assert procs(os.path.dirname(jobs)) == [str(c.init_pid)]
    for d in dirs.values():
        assert not os.path.exists(os.path.dirname(os.path.dirname(d))), "the container's cgroup is left"


def test_root_sub_cgroup_is_bounded_by_the_containers_pids_limit(root):
    """pid 1 (sleep) and the exec's shell are two of the ten: eight forks, and the ninth fails. The
    sleeps outlive the exec: the sub-cgroup stays while they run in it, and goes with the container."""
    with running(root, "--pids-limit", "10") as c:
        forks = sub_dirs(c, "forks", ["pids"])["pids"]
        res = exec_unchecked(c, ["sh", "-c", FORK_LOOP], "--sub-cgroup", "forks")
        assert res.returncode != 0 and "can't fork" in res.stderr, res
        assert res.stdout.split()[-1] == "8", res
        assert read(forks, "pids.current") == "8" and read(forks, "pids.max") == "max"
        assert read(os.path.dirname(forks), "pids.current") == "9"
    assert c.result.rc == 128 + signal.SIGKILL, c.result
    assert not os.path.exists(os.path.dirname(forks))


def test_container_killed_while_an_exec_runs_in_a_sub_cgroup_leaves_nothing(root):
    with running(root) as c:
        dirs = sub_dirs(c, "jobs/a", DEFAULT)
        p = c.exec_popen(["sleep", "100"], "--sub-cgroup", "jobs/a")
        pid = str(_exec_command_pid(p, ["sleep", "100"]))
        wait_for(lambda: all(procs(d) == [pid] for d in dirs.values()), "the exec in its sub-cgroups")
        os.kill(c.init_pid, signal.SIGKILL)
        assert root.wait_popen(p).rc == 128 + signal.SIGKILL
    assert c.result.rc == 128 + signal.SIGKILL, c.result
    for d in dirs.values():
        assert not os.path.exists(os.path.dirname(os.path.dirname(d))), "%s is left" % d


@pytest.mark.parametrize("flow", ["root", "setuid"], indirect=True)
def test_sub_cgroup_of_an_exec_whose_cnlaunch_is_sigkilled(flow):
    """root: CLEANUP_HOST removes it once the command, killed with its master, is gone. setuid: it is
    root's and CleanupHost holds no privilege: it stays (empty) until the container's end removes it."""
    with running(flow, "--pids-limit", "20") as c:
        jobs = sub_dirs(c, "jobs", ["pids"])["pids"]
        p = c.exec_popen(["sleep", "100"], "--sub-cgroup", "jobs")
        _exec_command_pid(p, ["sleep", "100"])
        p.send_signal(signal.SIGKILL)
        flow.wait_popen(p)
        if flow.name == "root":
            wait_for(lambda: not os.path.exists(jobs), "CleanupHost removing %s" % jobs)
        else:
            wait_for(lambda: procs(jobs) == [], "the exec's command dying with its cnlaunch")
            assert os.path.isdir(jobs)
    assert not os.path.exists(os.path.dirname(jobs))


def test_what_an_exec_left_in_a_sub_cgroup_is_killed_when_the_container_ends(root):
    """Without a pid namespace nothing ends a process the exec left behind when the container's
    first one exits: the container's removal does, child cgroup first, then its own."""
    cfg = oci_config(["true"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("network", "ipc", "uts", "mount")]
    bundle = root.bundle(cfg, with_rootfs=False)
    cmd, gate, release = gated(root, "true")
    try:
        with running(root, "--bundle", bundle, cmd=cmd) as c:
            left = sub_dirs(c, "daemon", ["pids"])["pids"]
            pid = c.exec(["sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!"], "--sub-cgroup", "daemon").ok().strip()
            # the exec is over, the sleep it left is not: its sub-cgroup stays while it runs there
            assert procs(left) == [pid], "the sleep the exec left is not in %s: %s" % (left, procs(left))
            release()
            wait_for(lambda: c.popen.poll() is not None, "the container's end")
    finally:
        gate.unlink(missing_ok=True)
    assert c.result.rc == 0, c.result
    assert not os.path.exists(os.path.dirname(left)), "the container's cgroup is left"
    assert gone(pid), "the sleep the exec left survived the container"


def gone(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("path, why", [
    ("../escape", "has a \".\" or \"..\" component"),
    ("a/../../b", "has a \".\" or \"..\" component"),
    ("./a", "has a \".\" or \"..\" component"),
    ("/abs", "is absolute"),
    ("a//b", "has an empty component"),
    ("a/", "ends with /"),
    ("", "is empty"),
    ("a b", "has a character other than"),
    ("a\\nb", "has a character other than"),
    ("a/b/c/d/e", "has more than 4 levels"),
    ("x" * 65, "has a component longer than 64 bytes"),
])
def test_bad_sub_cgroup_path_is_refused(root, path, why):
    root.run("exec", "--id", "no-matter", "--sub-cgroup", path, cmd=["true"], rootfs=False).refused(
        "--sub-cgroup", why)


def test_sub_cgroup_is_an_option_of_exec_only(root):
    root.run("--sub-cgroup", "jobs", cmd=["true"]).refused("--sub-cgroup: an option of exec", "--cgroup-path")


@pytest.mark.parametrize("path", ["cgroup.procs", "pids.max/x"])
def test_sub_cgroup_named_for_a_cgroup_file_is_refused(root, path):
    """A syntactically good name that is a file of the container's cgroup: one line, nothing made."""
    with running(root) as c:
        before = {d: sorted(os.listdir(d)) for d in c.state["cgroups"]}
        c.exec(["true"], "--sub-cgroup", path).refused(
            "InitConfig", path.split("/")[0], ("not a cgroup directory", "Not a directory"))
        assert {d: sorted(os.listdir(d)) for d in c.state["cgroups"]} == before


# --------------------------------------------------------------------------
# setuid: in the container's cgroups, which the setuid rules made (root's)


def test_setuid_exec_sub_cgroup_is_roots_beneath_the_containers_and_bounded_by_it(setuid):
    with running(setuid, "--pids-limit", "10") as c:
        assert len(c.state["cgroups"]) == 1, "a setuid launch with a pids limit gets a pids cgroup only"
        forks = sub_dirs(c, "forks", ["pids"])["pids"]
        p = c.exec_popen(["sleep", "30"], "--sub-cgroup", "forks")
        try:
            pid = str(_exec_command_pid(p, ["sleep", "30"]))
            assert procs(forks) == [pid]
            # root's, as the container's: the caller cannot raise the limit it was given
            st, procs_st = os.stat(forks), os.stat(os.path.join(forks, "pids.max"))
            assert (st.st_uid, procs_st.st_uid) == (0, 0) and not procs_st.st_mode & 0o022
        finally:
            p.send_signal(signal.SIGTERM)
            assert setuid.wait_popen(p).rc == 128 + signal.SIGTERM
        assert not os.path.exists(forks)
        res = exec_unchecked(c, ["sh", "-c", FORK_LOOP], "--sub-cgroup", "forks")
        assert "can't fork" in res.stderr and res.stdout.split()[-1] == "8", res
    assert not os.path.exists(os.path.dirname(forks))


def test_setuid_exec_sub_cgroup_needs_a_container_with_cgroups(setuid):
    with running(setuid) as c:
        assert c.state["cgroups"] == []
        c.exec(["true"], "--sub-cgroup", "jobs").refused(
            "exec --id %s: --sub-cgroup jobs: the container has no cgroup of its own" % c.name,
            "a setuid launch gets cgroups only with a limit or --cgroup-path")


# --------------------------------------------------------------------------
# userns: delegated cgroups only


def test_userns_exec_sub_cgroup_without_a_delegated_cgroup_is_refused(userns):
    with running(userns) as c:
        c.exec(["true"], "--sub-cgroup", "jobs").refused(
            "exec --id %s: --sub-cgroup jobs: the container has no cgroup of its own" % c.name,
            "the userns flow has no host privilege")


def test_userns_exec_sub_cgroup_in_a_delegated_cgroup_is_the_callers(userns, cgroups):
    mine = cgroups("pids", owner=NOBODY)
    with running(userns, "--pids-limit", "20", caller_cgroups=[mine]) as c:
        jobs = sub_dirs(c, "jobs", ["pids"])["pids"]
        assert os.path.dirname(os.path.dirname(jobs)) == mine
        p = c.exec_popen(["sleep", "30"], "--sub-cgroup", "jobs")
        try:
            pid = str(_exec_command_pid(p, ["sleep", "30"]))
            assert procs(jobs) == [pid] and os.stat(jobs).st_uid == NOBODY
        finally:
            p.send_signal(signal.SIGTERM)
            assert userns.wait_popen(p).rc == 128 + signal.SIGTERM
        assert not os.path.exists(jobs)

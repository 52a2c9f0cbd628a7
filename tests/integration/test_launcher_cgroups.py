# SPDX-License-Identifier: Apache-2.0
"""cgroups (issue 10, section 2), on real launches on this hybrid machine: v1
controllers under /sys/fs/cgroup/<controller>, an empty cgroup2 at
/sys/fs/cgroup/unified.

- the root flow gives every container its own cgroup in the memory and pids
  hierarchies and in the unified one (and in cpu's with a cpu limit), enters
  them before the container can fork, and removes them all at exit, also when
  the container or cnlaunch itself is SIGKILLed;
- the limits bite: a fork loop stops at the pids limit, an allocation past the
  memory limit is OOM-killed (137, and a line that says so), the cpu values are
  in the cgroup files;
- the v2 backend alone (--cgroup-manager v2) still makes, enters and removes its
  cgroup in the unified hierarchy, and names the controller it lacks;
- setuid: never above the caller's limits, never another user's cgroup, never
  outside the caller's; limits within them work, in cgroups root owns;
- userns: limits only in a cgroup delegated to the caller.

The conftest checks after every launch that no cgroup named for it is left.
"""

import os
import signal
import time
import uuid

import pytest

from conftest import NOBODY, Flow, container_init_pid, oci_config, parse_mountinfo, read_cmdline

HIERARCHIES = ("memory", "pids", "cpu", "unified")
# where every root-flow container gets a cgroup; cpu's only with a cpu limit (realtime
# tasks get no runtime in a new v1 cpu cgroup)
DEFAULT = ("memory", "pids", "unified")
FORK_LOOP = "i=0; while true; do sleep 100 & i=$((i+1)); echo $i; done"
# dd fills a buffer of bs bytes from /dev/zero: every page of it is touched
ALLOCATE_64M = ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]


# --------------------------------------------------------------------------
# where cgroups are


def cgroup_mounts():
    """{"memory": "/sys/fs/cgroup/memory", ..., "unified": "/sys/fs/cgroup/unified"}, from mountinfo."""
    with open("/proc/self/mountinfo") as f:
        mounts = parse_mountinfo(f.read())
    found = {}
    for m in mounts:
        if m["fstype"] == "cgroup2":
            found.setdefault("unified", m)
        elif m["fstype"] == "cgroup":
            for opt in m["super"]:
                if opt in HIERARCHIES:
                    found.setdefault(opt, m)
    assert set(found) == set(HIERARCHIES), "this machine is not the hybrid one DESIGN.md describes: %s" % found
    assert all(m["root"] == "/" for m in found.values()), found
    return {h: m["mountpoint"] for h, m in found.items()}


def proc_cgroups(text):
    """/proc/PID/cgroup text -> {"memory": "/a", ..., "unified": "/b"}."""
    out = {}
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        for h in (ctrls.split(",") if ctrls else ["unified"]):
            out[h] = path
    return out


def own_cgroups(pid="self"):
    with open("/proc/%s/cgroup" % pid) as f:
        return proc_cgroups(f.read())


def cgroup_dir(hierarchy, path):
    return cgroup_mounts()[hierarchy] + ("" if path == "/" else path)


def launch_cgroups(pid, hierarchies=DEFAULT):
    """The cgroups a launch by pid gets by default: cnlaunch-PID beneath the caller's own."""
    own = own_cgroups()
    return {h: os.path.join(own[h], "cnlaunch-%d" % pid) for h in hierarchies}


def read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def procs(d):
    """The pids in cgroup directory d ([] while it does not exist)."""
    try:
        return read(d, "cgroup.procs").split()
    except FileNotFoundError:
        return []


def pids_running(pids, argv):
    return [pid for pid in pids if read_cmdline(int(pid)) == argv]


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def cgroups():
    """Makes test cgroups beneath pytest's own: make(hierarchy, limits={file: value}, owner=uid).
    They are removed after the test, and must be removable: nothing may be left in them."""
    made = []

    def make(hierarchy, limits=None, owner=None, name=None):
        d = cgroup_dir(hierarchy, os.path.join(own_cgroups()[hierarchy], name or "cn-it-" + uuid.uuid4().hex[:8]))
        os.mkdir(d)
        made.append(d)
        for f, v in (limits or {}).items():
            with open(os.path.join(d, f), "w") as fh:
                fh.write(str(v))
        if owner is not None:
            for f in ("", "cgroup.procs", "tasks"):
                os.chown(os.path.join(d, f), owner, owner)
        return d
    yield make
    for d in reversed(made):
        for sub in os.listdir(d):
            if os.path.isdir(os.path.join(d, sub)):
                pytest.fail("a launch left the cgroup %s/%s" % (d, sub))
        os.rmdir(d)


def gated(flow, script):
    """A container script that waits for the host: (cmd, release) with release() letting it end."""
    gate = "cg-go-" + uuid.uuid4().hex[:8]
    path = flow.rootfs / "tmp" / gate
    cmd = ["/bin/sh", "-c", "%s\nwhile [ ! -e /tmp/%s ]; do sleep 0.02; done" % (script, gate)]

    def release():
        path.write_text("")
        if flow.owner is not None:
            os.chown(path, flow.owner, flow.owner)
    return cmd, path, release


# --------------------------------------------------------------------------
# root flow: a cgroup of its own in each hierarchy, entered before it can fork, removed at exit


def test_root_container_has_its_own_cgroup_in_each_hierarchy(root):
    cmd, gate, release = gated(root, "cat /proc/self/cgroup; sleep 100 &")
    p = root.popen(cmd=cmd)
    try:
        expected = launch_cgroups(p.pid)
        dirs = {h: cgroup_dir(h, path) for h, path in expected.items()}
        init = container_init_pid(p.pid, cmd)
        wait_for(lambda: pids_running(procs(dirs["pids"]), ["sleep", "100"]), "the container's sleep")
        for h, d in dirs.items():
            # pid 1, and the sleep it forked: a child is born inside, never outside
            inside = procs(d)
            assert str(init) in inside and pids_running(inside, ["sleep", "100"]), "%s: %s holds %s" % (h, d, inside)
    finally:
        release()
        res = root.wait_popen(p)
        gate.unlink()
    assert res.rc == 0, res
    inside = proc_cgroups(res.out)
    for h in DEFAULT:
        assert inside[h] == expected[h], "%s: the container is in %s, not %s\n%s" % (h, inside[h], expected[h], res)
    assert inside["cpu"] == own_cgroups()["cpu"], "a cpu cgroup without a cpu limit\n%s" % res
    assert "0::" + expected["unified"] in res.out.splitlines(), res  # cgroup v2: the unified hierarchy
    for d in dirs.values():
        assert not os.path.exists(d), "%s is left after the launch" % d


def test_v2_manager_alone_makes_enters_and_removes_its_unified_cgroup(root):
    p = root.popen("--cgroup-manager", "v2", cmd=["/bin/cat", "/proc/self/cgroup"])
    res = root.wait_popen(p)
    assert res.rc == 0, res
    inside, own = proc_cgroups(res.out), own_cgroups()
    assert inside["unified"] == launch_cgroups(p.pid)["unified"], res
    for h in ("memory", "pids", "cpu"):
        assert inside[h] == own[h], "--cgroup-manager v2 put the container in the v1 %s hierarchy\n%s" % (h, res)
    assert not os.path.exists(cgroup_dir("unified", inside["unified"]))


@pytest.mark.parametrize("option, controller", [("--memory", "memory"), ("--pids-limit", "pids")])
def test_v2_manager_names_the_controller_it_lacks(root, option, controller):
    """Here the unified hierarchy offers neither controller: the limit is refused, never dropped."""
    root.run("--cgroup-manager", "v2", option, "32", cmd=["/bin/true"]).refused(
        "%s limit: cgroup v2: the %s controller is not available in %s" % (controller, controller,
                                                                           cgroup_mounts()["unified"]),
        "--cgroup-manager auto uses it")


def test_disabled_manager_makes_no_cgroup_and_refuses_limits(root):
    inside = proc_cgroups(root.run("--cgroup-manager", "disabled", cmd=["/bin/cat", "/proc/self/cgroup"]).ok())
    assert inside == own_cgroups()
    root.run("--cgroup-manager", "disabled", "--pids-limit", "5", cmd=["/bin/true"]).refused(
        "--cgroup-manager disabled: the configuration asks for limits (linux.resources)")


def test_v1_manager_leaves_the_unified_hierarchy_alone(root):
    res = root.run("--cgroup-manager", "v1", cmd=["/bin/cat", "/proc/self/cgroup"])
    inside = proc_cgroups(res.ok())
    assert inside["unified"] == own_cgroups()["unified"], res
    assert os.path.basename(inside["pids"]).startswith("cnlaunch-"), res


def test_cgroups_go_when_the_container_is_sigkilled(root):
    cmd = ["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"]
    p = root.popen(cmd=cmd)
    dirs = [cgroup_dir(h, path) for h, path in launch_cgroups(p.pid).items()]
    init = container_init_pid(p.pid, cmd)
    wait_for(lambda: all(len(procs(d)) == 3 for d in dirs), "the container's three processes")
    os.kill(init, signal.SIGKILL)
    res = root.wait_popen(p)
    assert res.rc == 128 + signal.SIGKILL, res
    for d in dirs:
        assert not os.path.exists(d), "%s is left after the container was SIGKILLed" % d


def test_cgroups_go_when_processes_outlive_the_first_one(root):
    """Without a pid namespace nothing ends the container's other processes with its first:
    the cgroup does, and its directory goes only once it is empty."""
    config = oci_config(["/bin/sh", "-c", "sleep 100 & sleep 100 & sleep 100 & "
                                          "while [ ! -e /tmp/go ]; do sleep 0.02; done"])
    config["linux"]["namespaces"] = [{"type": t} for t in ("network", "ipc", "uts", "mount")]
    bundle = root.bundle(config)
    p = root.popen("--bundle", bundle, rootfs=False)
    dirs = [cgroup_dir(h, path) for h, path in launch_cgroups(p.pid).items()]
    wait_for(lambda: len(pids_running(procs(dirs[1]), ["sleep", "100"])) == 3, "the container's three sleeps")
    sleepers = pids_running(procs(dirs[1]), ["sleep", "100"])
    (bundle / "rootfs" / "tmp" / "go").write_text("")
    res = root.wait_popen(p)
    assert res.rc == 0, res  # sh ended: its sleeps were still running
    for d in dirs:
        assert not os.path.exists(d), "%s is left" % d
    for pid in sleepers:
        assert not os.path.exists("/proc/%s" % pid) or open("/proc/%s/stat" % pid).read().split()[2] == "Z", \
            "process %s of the container survived it" % pid


def test_cgroups_go_when_cnlaunch_itself_is_sigkilled(root):
    """The master is gone: CLEANUP_HOST removes them (root flow)."""
    cmd = ["/bin/sleep", "100"]
    p = root.popen(cmd=cmd)
    dirs = [cgroup_dir(h, path) for h, path in launch_cgroups(p.pid).items()]
    container_init_pid(p.pid, cmd)
    wait_for(lambda: all(os.path.isdir(d) for d in dirs), "the launch's cgroups")
    os.kill(p.pid, signal.SIGKILL)
    root.wait_popen(p)  # its leftover check waits for the cgroups to go
    for d in dirs:
        assert not os.path.exists(d), "%s is left after cnlaunch was SIGKILLed" % d


def test_a_given_path_is_made_and_removed(root):
    name = "cn-it-path-" + uuid.uuid4().hex[:8]
    res = root.run("--cgroup-path", name + "/box", cmd=["/bin/cat", "/proc/self/cgroup"])
    inside, own = proc_cgroups(res.ok()), own_cgroups()
    for h in DEFAULT:
        assert inside[h] == os.path.join(own[h], name, "box"), res
        # both components were made by the launch, so both go
        assert not os.path.exists(cgroup_dir(h, os.path.join(own[h], name))), res


def test_a_cgroup_namespace_is_rooted_at_the_containers_cgroups(root):
    """Made after the master put the container in every hierarchy's cgroup: inside, each is "/"."""
    config = oci_config(["/bin/sh", "-c", "cat /proc/self/cgroup; while [ ! -e /tmp/go ]; do sleep 0.02; done"])
    config["linux"]["namespaces"].append({"type": "cgroup"})
    bundle = root.bundle(config)
    p = root.popen("--bundle", bundle, rootfs=False)
    try:
        init = container_init_pid(p.pid, config["process"]["args"])
        host_view = own_cgroups(init)
    finally:
        (bundle / "rootfs" / "tmp" / "go").write_text("")
        res = root.wait_popen(p)
    assert res.rc == 0, res
    expected = launch_cgroups(p.pid)
    assert all(host_view[h] == expected[h] for h in DEFAULT), host_view
    inside = proc_cgroups(res.out)
    assert all(inside[h] == "/" for h in HIERARCHIES), res


# --------------------------------------------------------------------------
# the limits bite


@pytest.fixture
def flow_in_cgroup(request, world, leftovers, cgroups):
    """(flow, extra run kwargs): the userns flow runs in a pids cgroup delegated to the caller."""
    flow = Flow(request.param, world, leftovers)
    kw = {}
    if request.param == "userns":
        kw["caller_cgroups"] = [cgroups("pids", owner=NOBODY)]
    return flow, kw


@pytest.mark.parametrize("flow_in_cgroup", ["root", "setuid", "userns"], indirect=True)
def test_fork_loop_stops_at_the_pids_limit(flow_in_cgroup):
    flow, kw = flow_in_cgroup
    res = flow.sh(FORK_LOOP, "--pids-limit", "10", **kw)
    assert res.rc != 0 and "can't fork" in res.err, res
    # pid 1 is one of the ten: nine sleeps started, the tenth fork failed
    assert res.out.split()[-1] == "9", res


def test_without_a_limit_the_loop_runs_further(root):
    """The control: the loop above stops because of the limit."""
    res = root.sh("i=0; while [ $i -lt 30 ]; do sleep 100 & i=$((i+1)); done; echo $i")
    assert res.ok().split() == ["30"], res


@pytest.mark.parametrize("flow", ["root", "setuid"], indirect=True)
def test_allocation_past_the_memory_limit_is_oom_killed(flow):
    res = flow.run("--memory", "32m", cmd=ALLOCATE_64M)
    assert res.rc == 128 + signal.SIGKILL, res
    assert "the container reached its memory limit of 33554432 bytes: the kernel's OOM killer killed 1 process" \
        in res.err, res
    # the control: the same allocation within a larger limit
    assert flow.run("--memory", "256m", cmd=ALLOCATE_64M).rc == 0


def test_limits_from_options_land_in_the_cgroup_files(root):
    cmd, gate, release = gated(root, "true")
    p = root.popen("--memory", "48m", "--pids-limit", "40", "--cpus", "0.25", cmd=cmd)
    try:
        dirs = {h: cgroup_dir(h, path) for h, path in launch_cgroups(p.pid, HIERARCHIES).items()}
        container_init_pid(p.pid, cmd)
        got = {f: read(dirs[h], f) for h, f in [("memory", "memory.limit_in_bytes"), ("pids", "pids.max"),
                                                  ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us")]}
    finally:
        release()
        res = root.wait_popen(p)
        gate.unlink()
    assert res.rc == 0, res
    assert got == {"memory.limit_in_bytes": str(48 << 20), "pids.max": "40", "cpu.cfs_quota_us": "25000",
                   "cpu.cfs_period_us": "100000"}, got


def test_limits_from_linux_resources_land_in_the_cgroup_files(root):
    config = oci_config(["/bin/sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.02; done"])
    config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50},
                                    "cpu": {"quota": 30000, "period": 60000, "shares": 512}}
    bundle = root.bundle(config)
    p = root.popen("--bundle", bundle, rootfs=False)
    try:
        dirs = {h: cgroup_dir(h, path) for h, path in launch_cgroups(p.pid, HIERARCHIES).items()}
        container_init_pid(p.pid, config["process"]["args"])
        got = {f: read(dirs[h], f) for h, f in [("memory", "memory.limit_in_bytes"), ("pids", "pids.max"),
                                                  ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us"),
                                                  ("cpu", "cpu.shares")]}
    finally:
        (bundle / "rootfs" / "tmp" / "go").write_text("")
        res = root.wait_popen(p)
    assert res.rc == 0, res
    assert got == {"memory.limit_in_bytes": str(64 << 20), "pids.max": "50", "cpu.cfs_quota_us": "30000",
                   "cpu.cfs_period_us": "60000", "cpu.shares": "512"}, got


def test_a_limit_the_launcher_cannot_apply_is_refused(root):
    config = oci_config(["/bin/true"])
    config["linux"]["resources"] = {"memory": {"limit": 64 << 20, "swap": 64 << 20}}
    root.run("--bundle", root.bundle(config, with_rootfs=False), rootfs=False).refused(
        "linux.resources.memory.swap: not supported")


# --------------------------------------------------------------------------
# setuid: within the caller's cgroup and limits, in cgroups root owns


@pytest.mark.parametrize("hierarchy, limits, option, value, needle", [
    ("memory", {"memory.limit_in_bytes": 256 << 20}, "--memory", "512m",
     "memory limit 536870912 is above the caller's 268435456"),
    ("pids", {"pids.max": 50}, "--pids-limit", "100", "pids limit 100 is above the caller's 50"),
    ("cpu", {"cpu.cfs_quota_us": 50000}, "--cpus", "1", "cpu quota of 1.00 CPUs is above the caller's 0.50"),
])
def test_setuid_cannot_raise_a_limit_above_the_callers(setuid, cgroups, hierarchy, limits, option, value, needle):
    mine = cgroups(hierarchy, limits)
    setuid.run(option, value, cmd=["/bin/true"], caller_cgroups=[mine]).refused(
        needle, "%s:%s" % (hierarchy, os.path.join(own_cgroups()[hierarchy], os.path.basename(mine))),
        "a setuid run cannot raise it")


def test_setuid_limit_within_the_callers_applies_in_a_root_owned_cgroup(setuid, cgroups):
    mine = cgroups("memory", {"memory.limit_in_bytes": 256 << 20})
    cmd, gate, release = gated(setuid, "cat /proc/self/cgroup")
    p = setuid.popen("--memory", "128m", cmd=cmd, caller_cgroups=[mine])
    try:
        d = os.path.join(mine, "cnlaunch-%d" % p.pid)
        wait_for(lambda: os.path.isdir(d), d)
        st, limit = os.stat(d), os.stat(os.path.join(d, "memory.limit_in_bytes"))
        value = read(d, "memory.limit_in_bytes")
    finally:
        release()
        res = setuid.wait_popen(p)
        gate.unlink()
    assert res.rc == 0, res
    assert proc_cgroups(res.out)["memory"].endswith("/%s/cnlaunch-%d" % (os.path.basename(mine), p.pid)), res
    assert value == str(128 << 20)
    # root's: the caller cannot raise what it was given
    assert st.st_uid == 0 and limit.st_uid == 0 and not limit.st_mode & 0o022, (st, limit)
    assert not os.path.exists(d)


@pytest.mark.parametrize("owner", [1234, 0])
def test_setuid_cannot_use_another_users_cgroup(setuid, cgroups, owner):
    theirs = cgroups("pids", owner=owner)
    name = os.path.basename(theirs)
    setuid.run("--cgroup-path", name + "/box", cmd=["/bin/true"]).refused(
        "cgroup pids:%s belongs to uid %d, not to the caller (uid %d)" % (
            os.path.join(own_cgroups()["pids"], name), owner, NOBODY))


def test_setuid_cannot_place_a_container_outside_its_cgroup(setuid, cgroups):
    home = cgroups("pids")
    setuid.run("--cgroup-path", "/cn-it-elsewhere", cmd=["/bin/true"], caller_cgroups=[home]).refused(
        "cgroup ", ":/cn-it-elsewhere is not beneath the caller's cgroup")
    assert not any(os.path.exists(cgroup_dir(h, "/cn-it-elsewhere")) for h in HIERARCHIES)


def test_setuid_without_limits_makes_no_cgroup(setuid):
    inside = proc_cgroups(setuid.run(cmd=["/bin/cat", "/proc/self/cgroup"]).ok())
    assert inside == own_cgroups()


# --------------------------------------------------------------------------
# userns: no host privilege, so only a delegated cgroup


def test_userns_limit_needs_a_delegated_cgroup(userns):
    own = own_cgroups()["memory"]
    userns.run("--memory", "64m", cmd=["/bin/true"]).refused(
        "memory limit in memory:%s/cnlaunch-" % own, "the userns flow has no host privilege",
        "memory:%s is not delegated to uid %d (%s is not writable)" % (own, NOBODY, cgroup_dir("memory", own)))


def test_userns_limit_in_a_delegated_cgroup_is_the_callers(userns, cgroups):
    mine = cgroups("pids", owner=NOBODY)
    res = userns.run("--pids-limit", "20", cmd=["/bin/cat", "/proc/self/cgroup"], caller_cgroups=[mine])
    parent, leaf = os.path.split(proc_cgroups(res.ok())["pids"])
    assert parent == os.path.join(own_cgroups()["pids"], os.path.basename(mine)) and leaf.startswith("cnlaunch-"), res


# --------------------------------------------------------------------------
# the trace shows the cgroups in the stage that makes them


def stage_syscalls(res, stage, role):
    found = [s for s in res.stages if s["name"] == stage and s["role"] == role]
    assert found, "no %s stage of role %s\n%s" % (stage, role, res)
    return found[0]["syscalls"]


def count(calls, *names):
    return sum(calls.get(n, {}).get("count", 0) for n in names)


@pytest.mark.parametrize("flow", ["root", "setuid"])
def test_trace_shows_cgroups_made_in_createcontainer_and_removed_in_cleanupcontainer(world, flow):
    from tracer_support import traced_run
    # --check: the built-in policy holds (setuid: PrepareConfig, PostStartHost and CleanupHost gain nothing)
    res = traced_run(world, flow, ["/bin/true"], "--check", "--pids-limit", "20")
    assert res.rc == 0, res
    create = stage_syscalls(res, "CreateContainer", "master")
    assert count(create, "mkdir", "mkdirat") >= 1, "no mkdir in the master's CreateContainer: %s" % sorted(create)
    cleanup = stage_syscalls(res, "CleanupContainer", "master")
    assert count(cleanup, "rmdir") >= 1, "no rmdir in the master's CleanupContainer: %s" % sorted(cleanup)
    for stage, role in (("PrepareConfig", "stage1"), ("CleanupHost", "cleanup_host")):
        calls = stage_syscalls(res, stage, role)
        assert count(calls, "mkdir", "mkdirat", "rmdir") == 0, "%s made or removed a directory: %s" % (stage, calls)
    if flow == "setuid":
        # the master's escalations: euid 0 for the cgroups and clone3 within CreateContainer, and back
        raises = [t for s in res.stage("CreateContainer") for t in s["transitions"] if t["raise"]]
        assert len(raises) >= 2, "expected the master to raise its euid in CreateContainer\n%s" % res

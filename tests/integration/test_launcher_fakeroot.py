"""The fakeroot flow: a setuid master in the host user namespace, the container in
a new user namespace as fake root, mapped through /etc/subuid and /etc/subgid.

The tests make their own user and subordinate ranges and remove both afterwards."""
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import Flow, Status, container_init_pid, norm_map

FR_USER = "cntrace-fakeroot"
FR_UID = 64123
SUB_START = 300000
SUB_COUNT = 65536


def _append(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


@pytest.fixture(scope="module")
def fakeroot_user():
    subprocess.run(["userdel", FR_USER], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["useradd", "-M", "-u", str(FR_UID), "-U", "-s", "/usr/sbin/nologin", FR_USER],
                   check=True, stderr=subprocess.DEVNULL)
    saved = {p: Path(p).read_text() if Path(p).exists() else None for p in ("/etc/subuid", "/etc/subgid")}
    for p in saved:
        _append(p, "%s:%d:%d" % (FR_USER, SUB_START, SUB_COUNT))
    yield FR_UID
    for p, text in saved.items():
        if text is None:
            os.unlink(p)
        else:
            Path(p).write_text(text)
    subprocess.run(["userdel", FR_USER], check=False)


class FakerootFlow(Flow):
    def __init__(self, world, leftovers, uid, rootfs):
        super().__init__("setuid", world, leftovers)
        self.name = "fakeroot"
        self.caller_uid = uid
        self.rootfs = rootfs
        self.owner = uid

    def _caller(self, argv):
        return ["setpriv", "--reuid=%d" % self.caller_uid, "--regid=%d" % self.caller_uid, "--clear-groups",
                "--"] + argv


@pytest.fixture(scope="module")
def fakeroot(world, leftovers, fakeroot_user):
    rootfs = world.rootfs_copy(world.dir / "rootfs-fakeroot", owner=fakeroot_user)
    return FakerootFlow(world, leftovers, fakeroot_user, rootfs)


def test_fakeroot_container_runs_as_root_of_its_user_namespace(fakeroot):
    st = Status.parse(fakeroot.run(cmd=["cat", "/proc/self/status"]).ok())
    assert st.ids("Uid") == [0, 0, 0, 0]
    assert st.ids("Gid") == [0, 0, 0, 0]
    assert st.caps("CapEff") == st.caps("CapPrm") and "CAP_SETUID" in st.caps("CapEff")
    assert "CAP_SYS_ADMIN" not in st.caps("CapBnd")


def test_fakeroot_maps_root_to_the_caller_and_ids_from_1_to_its_subordinate_range(fakeroot):
    out = fakeroot.run(cmd=["cat", "/proc/self/uid_map", "/proc/self/gid_map"]).ok()
    line_root = "0 %d 1" % FR_UID
    line_sub = "1 %d %d" % (SUB_START, SUB_COUNT)
    assert norm_map(out) == [line_root, line_sub, line_root, line_sub]


def test_fakeroot_chown_inside_lands_in_the_subordinate_range_on_the_host(fakeroot):
    fakeroot.run(cmd=["sh", "-c", "touch /tmp/owned && chown 1000:1000 /tmp/owned"]).ok()
    st = os.stat(fakeroot.rootfs / "tmp" / "owned")
    assert (st.st_uid, st.st_gid) == (SUB_START + 999, SUB_START + 999)
    os.unlink(fakeroot.rootfs / "tmp" / "owned")


def test_fakeroot_root_may_set_groups_inside(fakeroot):
    assert fakeroot.run(cmd=["cat", "/proc/self/setgroups"]).ok().strip() == "allow"


def test_fakeroot_files_the_container_root_creates_belong_to_the_caller(fakeroot):
    fakeroot.run(cmd=["touch", "/tmp/mine"]).ok()
    st = os.stat(fakeroot.rootfs / "tmp" / "mine")
    assert (st.st_uid, st.st_gid) == (FR_UID, FR_UID)
    os.unlink(fakeroot.rootfs / "tmp" / "mine")


def test_fakeroot_master_keeps_no_host_root_in_the_container(fakeroot):
    """The container's creds as the host sees them: every uid is the caller's, none is 0."""
    p = fakeroot.popen(cmd=["sleep", "30"])
    pid = None
    try:
        pid = container_init_pid(p.pid, ["sleep", "30"])
        with open("/proc/%d/status" % pid) as f:
            st = Status.parse(f.read())
    finally:
        # pid 1 of its namespace ignores a forwarded SIGTERM: kill it from the host
        os.kill(pid or p.pid, signal.SIGKILL)
        fakeroot.wait_popen(p)
    # /proc read from the host shows host ids
    assert st.ids("Uid") == [FR_UID] * 4
    assert st.ids("Gid") == [FR_UID] * 4


def test_fakeroot_user_without_subordinate_ranges_is_refused(world, leftovers):
    flow = Flow("setuid", world, leftovers)  # uid 65534 has no range
    res = flow.run("--flow", "fakeroot", cmd=["true"], flow_opt=False)
    res.refused("has no subordinate uid range")


def test_fakeroot_maps_outside_the_callers_ranges_are_refused(fakeroot, world):
    config = json.loads(fakeroot.run("--print-config", cmd=["true"]).ok())
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    config["root"]["path"] = str(fakeroot.rootfs)
    bundle = world.dir / "bundle-fakeroot-hostroot"
    bundle.mkdir(exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(config))
    os.chmod(bundle, 0o755)
    os.chmod(bundle / "config.json", 0o644)
    res = fakeroot.run("--bundle", bundle, rootfs=False)
    res.refused("linux.uidMappings[0]: host ids 0-0")


def test_fakeroot_is_not_possible_without_setuid(world, leftovers):
    flow = Flow("userns", world, leftovers)
    flow.run("--flow", "fakeroot", cmd=["true"], flow_opt=False).refused("needs a setuid-root cnlaunch")

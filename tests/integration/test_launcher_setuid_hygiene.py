# SPDX-License-Identifier: Apache-2.0
"""A setuid run by uid 65534 never leaves root-owned files or mounts behind,
and a rootfs or path the user controls cannot steer the setuid root onto host
paths. (Every launch of the suite is also checked by conftest's leftover
snapshot; these tests make the user try.)"""

import os
import subprocess
import uuid

import pytest

from conftest import NOBODY, parse_mountinfo


def _host_state(world):
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    root_files = subprocess.run(["find", str(world.dir), "-user", "0"], stdout=subprocess.PIPE,
                                check=True).stdout.decode().split("\n")
    return mounts, sorted(root_files)


def test_setuid_run_leaves_no_root_owned_files_or_mounts(setuid, world):
    before = _host_state(world)
    tag = uuid.uuid4().hex[:8]
    script = ("touch /tmp/f-{0} && mkdir /tmp/d-{0} && mkfifo /tmp/p-{0} && echo x > /root/r-{0} && "
              "ln -s /etc/passwd /tmp/l-{0}").format(tag)
    setuid.sh(script, "--hostname", "cn-hygiene", "--no-new-privs").ok()
    after = _host_state(world)
    assert after[0] == before[0], "the host mount table changed"
    assert after[1] == before[1], "root-owned files appeared: %s" % sorted(set(after[1]) - set(before[1]))
    created = [setuid.rootfs / p for p in ("tmp/f-" + tag, "tmp/d-" + tag, "tmp/p-" + tag,
                                              "root/r-" + tag, "tmp/l-" + tag)]
    try:
        for path in created:
            st = path.lstat()
            assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY), "%s is owned by %d:%d" % (path, st.st_uid, st.st_gid)
    finally:
        for path in created:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            elif os.path.lexists(path):
                path.unlink()


@pytest.mark.parametrize("target", ["dev", "proc", "sys", "dev/shm"])
def test_setuid_symlinked_mount_target_in_rootfs_cannot_reach_host(setuid, world, victim, target):
    # the caller owns the rootfs and replaces a mount target by a symlink to a
    # host directory; the setuid root must resolve it inside the rootfs (or refuse)
    rootfs = world.dir / ("evil-rootfs-" + uuid.uuid4().hex[:8])
    world.rootfs_copy(rootfs, owner=NOBODY)
    link = rootfs / target
    if link.exists():
        subprocess.run(["rm", "-rf", str(link)], check=True)
    os.symlink(str(victim), link)
    os.lchown(link, NOBODY, NOBODY)
    try:
        res = setuid.run("--rootfs", rootfs, cmd=["/bin/true"], rootfs=False)
        if res.rc != 0:
            res.refused()
        assert os.listdir(victim) == [], "the setuid launcher wrote into the host dir %s: %s" % (
            victim, os.listdir(victim))
        with open("/proc/self/mountinfo") as f:
            assert not [m for m in parse_mountinfo(f.read()) if m["mountpoint"].startswith(str(victim))]
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(rootfs)], check=False)


def test_setuid_pid_file_is_written_as_the_caller(setuid, world, victim):
    # the pid file path goes through a symlink into a directory only root may write
    d = world.user_dir("pidlink")
    link = d / "pid"
    target = victim / "pid"
    os.symlink(str(target), link)
    os.lchown(link, NOBODY, NOBODY)
    res = setuid.run("--pid-file", link, cmd=["/bin/true"])
    assert not target.exists(), "the setuid launcher created %s as root\n%s" % (target, res)
    if res.rc != 0:
        res.refused()


def test_setuid_rootfs_the_caller_cannot_reach_is_refused(setuid, world, victim):
    # a complete rootfs behind a directory only root may traverse: the setuid
    # root must not open it on the caller's behalf
    world.rootfs_copy(victim / "rootfs", owner=None)
    os.chmod(victim, 0o700)
    setuid.run("--rootfs", victim / "rootfs", cmd=["/bin/true"], rootfs=False).refused()

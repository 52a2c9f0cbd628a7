"""The setuid flow allows nothing an unprivileged user namespace would not
(bubblewrap's promise): each attempt below is made through the setuid-root
cnlaunch and through the plain one in the userns flow, and fails in both.
(Raising a hard rlimit above the caller's is in test_launcher_identity.py;
joining another user's container waits for `cnlaunch exec`.)"""
import json
import os
import subprocess
import uuid

import pytest

from conftest import Flow, parse_mountinfo

PARITY = ("setuid", "userns")


@pytest.fixture(params=PARITY)
def caller(request, world, leftovers):
    return Flow(request.param, world, leftovers)


def _config(flow, **changes):
    config = json.loads(flow.run("--print-config", cmd=["true"], rootfs=False).ok())
    config["root"]["path"] = "rootfs"
    for key, value in changes.items():
        config[key] = value
    return config


def _mountinfo():
    with open("/proc/self/mountinfo") as f:
        return sorted(m["mountpoint"] for m in parse_mountinfo(f.read()))


def test_a_mount_cannot_land_on_a_host_path(caller, victim):
    """A destination that climbs out with .. resolves inside the rootfs."""
    escape = "/../../../../../.." + str(victim)
    config = _config(caller)
    config["mounts"].append({"destination": escape, "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]})
    before = _mountinfo()
    caller.run("--bundle", caller.bundle(config), cmd=["sh", "-c", "touch %s/inside" % escape], rootfs=False)
    assert _mountinfo() == before, "a host mount appeared"
    assert list(victim.iterdir()) == [], "the host directory was written"


def test_a_bind_cannot_reach_a_host_path_the_caller_cannot_read(caller, world):
    """The bind itself needs only search permission (in a user namespace too); the
    directory's own mode still holds inside, so its content stays unreadable."""
    secret = world.dir / ("secret-" + uuid.uuid4().hex[:8])
    secret.mkdir(mode=0o700)
    (secret / "key").write_text("root only\n")
    config = _config(caller)
    config["mounts"].append({"destination": "/mnt/secret", "type": "bind", "source": str(secret),
                             "options": ["bind", "ro"]})
    res = caller.run("--bundle", caller.bundle(config), cmd=["cat", "/mnt/secret/key"], rootfs=False)
    assert res.rc != 0 and "root only" not in res.out, res
    assert "Permission denied" in res.err, res


def test_another_users_uid_cannot_be_mapped(caller):
    config = _config(caller)
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    res = caller.run("--bundle", caller.bundle(config), cmd=["id"], rootfs=False)
    res.refused(("user namespace", "uidMappings"))


def test_a_host_device_node_stays_closed(caller):
    """/dev/vda bound into the container: its node's permissions still hold, and no new node can be made."""
    config = _config(caller)
    config["mounts"].append({"destination": "/dev/vda", "type": "bind", "source": "/dev/vda", "options": ["bind"]})
    res = caller.run("--bundle", caller.bundle(config), rootfs=False,
                     cmd=["sh", "-c", "head -c1 /dev/vda >/dev/null && echo READ; mknod /tmp/disk b 254 0 && echo MADE; true"])
    assert res.rc == 0, res
    assert "READ" not in res.out and "MADE" not in res.out, res

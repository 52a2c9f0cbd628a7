# SPDX-License-Identifier: Apache-2.0
"""The OCI configuration: --print-config, --bundle DIR with config.json, and
the process fields of config.json reaching the container."""

import json
import os
import uuid


from conftest import (DEFAULT_PATH, NOBODY, OCI_DEFAULT_CAPS, Status, oci_config, parse_limits,
                      parse_mountinfo, top_mount)


def print_config(flow, *args, cmd=("/bin/echo", "hello")):
    res = flow.run("--print-config", *args, cmd=list(cmd))
    try:
        return json.loads(res.ok())
    except ValueError as e:
        raise AssertionError("--print-config did not print JSON (%s)\n%s" % (e, res)) from None


def ns_types(cfg):
    return {ns["type"] for ns in cfg.get("linux", {}).get("namespaces", [])}


def test_print_config_prints_the_oci_config_and_runs_nothing(flow):
    marker = "cn-printed-" + uuid.uuid4().hex[:8]
    cfg = print_config(flow, cmd=["/bin/touch", "/tmp/" + marker])
    assert not (flow.rootfs / "tmp" / marker).exists(), "--print-config must not run the container"
    assert cfg["process"]["args"] == ["/bin/touch", "/tmp/" + marker]
    assert os.path.realpath(cfg["root"]["path"]) == os.path.realpath(flow.rootfs)
    uid = 0 if flow.name == "root" else NOBODY
    assert cfg["process"]["user"]["uid"] == uid and cfg["process"]["user"]["gid"] == uid
    assert "PATH=" + DEFAULT_PATH in cfg["process"]["env"]
    assert cfg["process"].get("cwd") == "/"
    want_ns = {"mount", "pid", "uts", "ipc", "network"} | ({"user"} if flow.name == "userns" else set())
    assert want_ns <= ns_types(cfg), ns_types(cfg)
    if flow.name != "userns":
        assert "user" not in ns_types(cfg)
    if flow.name == "setuid":
        caps = cfg["process"].get("capabilities", {})
        assert all(not caps.get(s) for s in ("bounding", "effective", "permitted", "inheritable", "ambient")), caps


def test_print_config_reflects_the_options(root, world):
    profile = world.write_file("seccomp.json", json.dumps(
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    cfg = print_config(root, "--hostname", "cn-printed", "--env", "FOO=bar", "--cwd", "/tmp",
                       "--user", "1000:1000", "--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "CAP_NET_RAW",
                       "--no-new-privs", "--rlimit", "nofile=512:1024", "--read-only", "--seccomp", profile)
    proc = cfg["process"]
    assert cfg["hostname"] == "cn-printed"
    assert "FOO=bar" in proc["env"]
    assert proc["cwd"] == "/tmp"
    assert (proc["user"]["uid"], proc["user"]["gid"]) == (1000, 1000)
    assert set(proc["capabilities"]["bounding"]) == (OCI_DEFAULT_CAPS | {"CAP_SYS_ADMIN"}) - {"CAP_NET_RAW"}
    assert proc["noNewPrivileges"] is True
    assert {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024} in proc["rlimits"], proc.get("rlimits")
    assert cfg["root"].get("readonly") is True
    assert cfg["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"


def test_print_config_userns_maps_the_caller(userns):
    cfg = print_config(userns)
    assert cfg["linux"]["uidMappings"] == [{"containerID": NOBODY, "hostID": NOBODY, "size": 1}]
    cfg = print_config(userns, "--user", "0")
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": NOBODY, "size": 1}]
    assert cfg["linux"]["gidMappings"] == [{"containerID": 0, "hostID": NOBODY, "size": 1}]


def test_print_config_round_trips_through_a_bundle(flow):
    cfg = print_config(flow, "--hostname", "cn-roundtrip", "--env", "FOO=roundtrip",
                       cmd=["/bin/sh", "-c", "echo $FOO; hostname; id -u"])
    cfg["root"]["path"] = "rootfs"  # relative: resolved against the bundle dir
    res = flow.run("--bundle", flow.bundle(cfg), rootfs=False)
    uid = 0 if flow.name == "root" else NOBODY
    assert res.ok().split() == ["roundtrip", "cn-roundtrip", str(uid)], res


def test_root_bundle_process_fields_are_honoured(root):
    cfg = oci_config(
        ["/bin/sh", "-c", "echo $FOO; pwd; hostname; cat /proc/self/status /proc/self/limits"],
        uid=1000, gid=1000,
        env=["PATH=/bin", "FOO=fromjson"], cwd="/tmp",
        capabilities={"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"],
                      "permitted": ["CAP_SYS_ADMIN"], "inheritable": ["CAP_SYS_ADMIN"],
                      "ambient": ["CAP_SYS_ADMIN"]},
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}],
        noNewPrivileges=True)
    cfg["process"]["user"]["additionalGids"] = [10, 20]
    res = root.run("--bundle", root.bundle(cfg), rootfs=False)
    out = res.ok()
    head = out.splitlines()[:3]
    assert head == ["fromjson", "/tmp", "cn-bundle"], res
    st = Status.parse(out)
    assert st.ids("Uid") == [1000] * 4 and st.ids("Gid") == [1000] * 4
    assert sorted(st.groups()) == [10, 20], st["Groups"]
    assert st.caps("CapBnd") == {"CAP_CHOWN", "CAP_SYS_ADMIN"}
    for s in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert st.caps(s) == {"CAP_SYS_ADMIN"}, (s, st[s])
    assert st["NoNewPrivs"] == "1"
    assert parse_limits(out[out.index("Limit "):])["Max open files"] == ("256", "512")


def test_root_bundle_read_only_root(root):
    cfg = oci_config(["/bin/touch", "/tmp/cn-ro"])
    cfg["root"]["readonly"] = True
    res = root.run("--bundle", root.bundle(cfg), rootfs=False)
    assert res.rc != 0 and "Read-only file system" in res.err, res


def test_root_bundle_tmpfs_and_bind_mounts(root, world):
    src = world.user_dir("bindsrc")
    (src / "hello.txt").write_text("from the host\n")
    cfg = oci_config(["/bin/sh", "-c", "cat /root/hello.txt; cat /proc/self/mountinfo"])
    cfg["mounts"] += [
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]},
        {"destination": "/root", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
    ]
    out = root.run("--bundle", root.bundle(cfg), rootfs=False).ok()
    first, _, rest = out.partition("\n")
    assert first == "from the host"
    mounts = parse_mountinfo(rest)
    assert top_mount(mounts, "/tmp")["fstype"] == "tmpfs"
    assert "ro" in top_mount(mounts, "/root")["options"]


def test_failing_stage_exits_125_naming_the_path(flow, world):
    missing = str(world.dir / "no-such-bind-source")
    cfg = print_config(flow, cmd=["/bin/true"])
    cfg["root"]["path"] = "rootfs"
    cfg["mounts"].append({"destination": "/tmp", "type": "bind", "source": missing, "options": ["rbind"]})
    flow.run("--bundle", flow.bundle(cfg), rootfs=False).refused(missing)

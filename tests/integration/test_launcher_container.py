# SPDX-License-Identifier: Apache-2.0
"""What the container looks like from inside, in every flow: namespaces, pid 1,
the mounts (/proc, /dev, /sys, masked and read-only paths, the root), the
network, hostname, environment, working directory, rlimits, no_new_privs and
seccomp."""

import json
import os
import socket
import uuid

import pytest

from conftest import (CALLER_MARKER, DEFAULT_PATH, NOBODY, OCI_MASKED_PATHS, OCI_READONLY_PATHS,
                      default_home, parse_limits, parse_mountinfo, seccomp_arches, top_mount)

# ---------------------------------------------------------------- namespaces and pid 1

NS_SCRIPT = "for n in mnt pid uts ipc net user; do echo $n $(readlink /proc/self/ns/$n); done"


def test_container_has_new_mount_pid_uts_ipc_net_namespaces(flow, host_ns):
    out = flow.sh(NS_SCRIPT).ok()
    inside = dict(line.split(" ", 1) for line in out.splitlines())
    for ns in ("mnt", "pid", "uts", "ipc", "net"):
        assert inside[ns] != host_ns[ns], "%s namespace is the host's (%s)" % (ns, inside[ns])
    if flow.name == "userns":
        assert inside["user"] != host_ns["user"], "the userns flow must create a user namespace"
    else:
        assert inside["user"] == host_ns["user"], "the %s flow must stay in the host user namespace" % flow.name


def test_command_is_pid1_and_sees_only_its_own_processes(flow):
    # the glob is expanded by sh itself, so no other process exists when it runs
    out = flow.sh("echo $$; echo /proc/[0-9]*; cat /proc/1/cmdline | tr '\\0' ' '").ok().splitlines()
    assert out[0] == "1", "the command must be pid 1 in its pid namespace, got %s" % out[0]
    assert out[1] == "/proc/1", "/proc must show the container's pid namespace only: %s" % out[1]
    assert out[2].split()[:2] == ["/bin/sh", "-c"], out[2]


def test_loopback_is_up_and_alone(flow):
    out = flow.run(cmd=["/bin/ip", "link", "show"]).ok()
    links = [l for l in out.splitlines() if l[:1].isdigit()]
    assert len(links) == 1 and ": lo: " in links[0], "only lo expected in a new net namespace:\n%s" % out
    flags = links[0].split("<", 1)[1].split(">", 1)[0].split(",")
    assert "UP" in flags, "lo must be up: %s" % links[0]


def test_hostname_is_set_in_the_container_only(flow):
    host_before = socket.gethostname()
    out = flow.sh("hostname; cat /proc/sys/kernel/hostname", "--hostname", "cn-test-host").ok()
    assert out.split() == ["cn-test-host", "cn-test-host"]
    assert socket.gethostname() == host_before


# ---------------------------------------------------------------- environment and cwd


def test_env_is_default_path_and_home_plus_given(flow):
    res = flow.run("--env", "FOO=bar", "--env", "EMPTY=", "--env", "WITH_EQ=a=b", cmd=["/bin/env"])
    env = sorted(res.ok().splitlines())
    uid = 0 if flow.name == "root" else NOBODY
    assert env == sorted(["PATH=" + DEFAULT_PATH, "HOME=" + default_home(uid), "FOO=bar", "EMPTY=",
                          "WITH_EQ=a=b"]), res


def test_env_of_caller_does_not_leak(flow):
    env = flow.run(cmd=["/bin/env"]).ok()
    assert CALLER_MARKER not in env
    assert sorted(l.split("=", 1)[0] for l in env.splitlines()) == ["HOME", "PATH"], env


def test_env_option_overrides_a_default(flow):
    env = flow.run("--env", "PATH=/bin", "--env", "HOME=/tmp", cmd=["/bin/env"]).ok().splitlines()
    assert sorted(env) == ["HOME=/tmp", "PATH=/bin"], env


@pytest.mark.parametrize("flow", ["userns", "root"], indirect=True)
def test_home_follows_the_target_uid(flow):
    user = "0" if flow.name == "userns" else "1000:1000"
    env = flow.run("--user", user, cmd=["/bin/env"]).ok().splitlines()
    want = "HOME=/root" if flow.name == "userns" else "HOME=/"
    assert want in env, env


def test_command_is_found_through_the_container_path(flow):
    assert flow.run(cmd=["echo", "found"]).ok() == "found\n"


def test_cwd_defaults_to_root(flow):
    assert flow.run(cmd=["/bin/pwd"]).ok() == "/\n"


def test_cwd_option_is_honoured(flow):
    assert flow.run("--cwd", "/tmp", cmd=["/bin/pwd"]).ok() == "/tmp\n"


# ---------------------------------------------------------------- mounts


def test_root_is_pivoted_and_only_container_mounts_are_visible(flow, world):
    mounts = flow.mountinfo()
    allowed = ("/proc", "/dev", "/sys")
    stray = [m["mountpoint"] for m in mounts
             if m["mountpoint"] != "/" and not any(m["mountpoint"] == a or m["mountpoint"].startswith(a + "/")
                                                   for a in allowed)]
    assert not stray, "mounts outside /, /proc, /dev, /sys (host mounts or the old root?): %s" % stray
    assert [m for m in mounts if m["mountpoint"] == "/"], "no root mount in the container"
    # the host's paths are not reachable
    res = flow.sh("test -e /work -o -e %s; echo $?" % world.dir)
    assert res.ok().strip() == "1", "host paths are visible inside the container\n%s" % res


def test_proc_is_mounted(flow):
    m = top_mount(flow.mountinfo(), "/proc")
    assert m and m["fstype"] == "proc", m


def test_dev_is_a_minimal_tmpfs(flow):
    script = (
        "cat /proc/self/mountinfo; echo @@; "
        "stat -c '%n|%F|%t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; echo @@; "
        "readlink /dev/fd; echo @@; "
        "stat -L -c '%n|%F|%t:%T' /dev/ptmx; echo @@; "
        "find /dev -type b; echo @@; "
        "find /dev -path /dev/pts -prune -o -type c -print"
    )
    out = flow.sh(script).ok().split("@@\n")
    mounts = parse_mountinfo(out[0])
    for mp, fstype in (("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs")):
        m = top_mount(mounts, mp)
        assert m and m["fstype"] == fstype, "%s should be a %s mount: %s" % (mp, fstype, m)
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
            "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    got = {}
    for line in out[1].splitlines():
        name, kind, dev = line.split("|")
        assert kind == "character special file", line
        got[name] = dev
    assert got == want
    assert out[2].strip() == "/proc/self/fd", "/dev/fd -> %r" % out[2]
    name, kind, dev = out[3].strip().split("|")
    assert kind == "character special file" and dev == "5:2", "/dev/ptmx: %s" % out[3]
    assert out[4].strip() == "", "block devices in /dev: %s" % out[4]
    allowed = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
               "/dev/ptmx", "/dev/console"}
    extra = set(out[5].split()) - allowed
    assert not extra, "unexpected device nodes in /dev: %s" % sorted(extra)


def test_dev_null_and_zero_work(flow):
    out = flow.sh("echo gone > /dev/null && head -c 4 /dev/zero | od -An -tx1 && "
                  "head -c 8 /dev/urandom | wc -c").ok().split()
    assert out == ["00", "00", "00", "00", "8"], out


def test_sys_is_read_only(flow):
    m = top_mount(flow.mountinfo(), "/sys")
    assert m, "no /sys mount"
    assert m["fstype"] == "sysfs", m
    assert "ro" in m["options"], "/sys must be read-only: %s" % m


def _existing(paths):
    return [p for p in paths if os.path.exists(p)]


def test_oci_masked_paths_are_masked(flow):
    paths = _existing(OCI_MASKED_PATHS)
    assert paths, "no OCI masked path exists on this host?"
    script = "; ".join(
        "if [ -d {0} ]; then echo {0} dir $(ls -A {0} | wc -l); else echo {0} file $(cat {0} 2>/dev/null | wc -c); fi"
        .format(p) for p in paths)
    mounts = flow.mountinfo()
    out = flow.sh(script).ok()
    for line in out.splitlines():
        path, kind, size = line.split()
        assert top_mount(mounts, path), "%s is not masked (no mount over it)" % path
        assert size == "0", "%s (%s) is not empty inside the container: %s entries/bytes" % (path, kind, size)


def test_oci_readonly_paths_are_read_only(flow):
    mounts = flow.mountinfo()
    for path in _existing(OCI_READONLY_PATHS):
        m = top_mount(mounts, path)
        assert m, "%s is not a mount point inside the container" % path
        assert "ro" in m["options"], "%s must be read-only: %s" % (path, m)
    # writing the value it already has: harmless even if it were writable
    res = flow.sh("d=$(cat /proc/sys/kernel/domainname); echo \"$d\" > /proc/sys/kernel/domainname")
    assert res.rc != 0 and "Read-only file system" in res.err, res


def test_read_only_root_refuses_writes(flow):
    name = "cn-ro-probe-" + uuid.uuid4().hex[:8]
    res = flow.sh("touch /tmp/%s" % name, "--read-only")
    assert res.rc != 0 and "Read-only file system" in res.err, res
    assert not (flow.rootfs / "tmp" / name).exists()
    m = top_mount(flow.mountinfo("--read-only"), "/")
    assert "ro" in m["options"], m


def test_root_is_writable_without_read_only(flow):
    name = "cn-rw-probe-" + uuid.uuid4().hex[:8]
    host = flow.rootfs / "tmp" / name
    try:
        flow.sh("touch /tmp/%s" % name).ok()
        assert host.exists()
    finally:
        if host.exists():
            host.unlink()


# ---------------------------------------------------------------- rlimits, no_new_privs, seccomp


@pytest.mark.parametrize("spelling", ["nofile", "RLIMIT_NOFILE"])
def test_rlimit_is_applied(flow, spelling):
    out = flow.run("--rlimit", spelling + "=512:1024", cmd=["/bin/cat", "/proc/self/limits"]).ok()
    assert parse_limits(out)["Max open files"] == ("512", "1024"), out


def test_no_new_privs_is_set_when_asked(flow):
    assert flow.status("--no-new-privs")["NoNewPrivs"] == "1"


def _profile(world, names, errno_ret=1):
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": seccomp_arches(),
        "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret}],
    }
    return world.write_file("seccomp.json", json.dumps(profile))


def test_without_seccomp_profile_there_is_no_filter(flow):
    assert flow.status()["Seccomp"] == "0"


def test_seccomp_profile_denial_makes_syscall_fail(flow, world):
    profile = _profile(world, ["mkdir", "mkdirat"])
    name = "cn-seccomp-" + uuid.uuid4().hex[:8]
    host = flow.rootfs / "tmp" / name
    try:
        res = flow.sh("mkdir /tmp/%s; echo rc=$?; grep '^Seccomp:' /proc/self/status" % name,
                      "--seccomp", profile)
        out = res.ok()
        assert "rc=1" in out, res
        assert "Operation not permitted" in res.err, "mkdir must fail with the profile's errno (EPERM)\n%s" % res
        assert out.split("Seccomp:")[1].split()[0] == "2", "Seccomp mode must be 2 (filter)\n%s" % res
        assert not host.exists()
    finally:
        if host.exists():
            host.rmdir()


def test_seccomp_errno_ret_is_honoured(flow, world):
    profile = _profile(world, ["mkdir", "mkdirat"], errno_ret=95)  # EOPNOTSUPP
    res = flow.sh("mkdir /tmp/cn-never", "--seccomp", profile)
    assert res.rc == 1 and "Operation not supported" in res.err, res


def test_seccomp_and_no_new_privs_together(flow, world):
    profile = _profile(world, ["mkdir", "mkdirat"])
    st = flow.status("--seccomp", profile, "--no-new-privs")
    assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1")

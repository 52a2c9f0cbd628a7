# SPDX-License-Identifier: Apache-2.0
"""Invalid input is refused before anything is set up: exit 125, exactly one
line `cnlaunch: ...` naming the option or JSON path, and nothing left behind
(every launch goes through the leftover check of conftest)."""

import json

import pytest

from conftest import oci_config


def test_no_command_and_no_config_is_refused(flow):
    line = flow.run().refused()
    assert "command" in line.lower(), "the error should say the command is missing: %s" % line


@pytest.mark.parametrize("option", ["--cap-add", "--cap-drop"])
def test_unknown_capability_option_is_refused(flow, option):
    line = flow.run(option, "CAP_NOPE", cmd=["/bin/true"]).refused(option)
    if not (flow.name == "setuid" and option == "--cap-add"):  # refused there whatever the name
        assert "CAP_NOPE" in line, line


def test_unknown_capability_in_config_names_the_json_path(flow):
    uid = flow.caller_uid
    cfg = oci_config(["/bin/true"], uid=uid, gid=uid)
    cfg["process"]["capabilities"] = {"bounding": ["CAP_CHOWN", "CAP_NOPE"]}
    flow.run("--bundle", flow.bundle(cfg), rootfs=False).refused(
        "process.capabilities.bounding[1]", "CAP_NOPE")


def test_relative_rootfs_is_refused(flow):
    # "rootfs-user" exists relative to the caller's cwd: it must be refused anyway
    flow.run("--rootfs", "rootfs-user", cmd=["/bin/true"], rootfs=False).refused("--rootfs")


def test_missing_rootfs_is_refused(flow, world):
    missing = world.dir / "no-such-rootfs"
    flow.run("--rootfs", missing, cmd=["/bin/true"], rootfs=False).refused(str(missing))


def test_rootfs_that_is_a_file_is_refused(flow, world):
    f = world.write_file("not-a-dir", "x")
    flow.run("--rootfs", f, cmd=["/bin/true"], rootfs=False).refused(str(f))


@pytest.mark.parametrize("user", ["abc", "-1", "1:abc", "", "4294967296", "0:-1"])
def test_bad_user_is_refused(flow, user):
    flow.run("--user", user, cmd=["/bin/true"]).refused("--user")


def test_malformed_config_json_is_refused(flow):
    flow.run("--bundle", flow.bundle('{"ociVersion": "1.0.2", "process": {', with_rootfs=False),
             rootfs=False).refused("config.json")


def test_config_json_that_is_not_an_object_is_refused(flow):
    flow.run("--bundle", flow.bundle("[]", with_rootfs=False), rootfs=False).refused("config.json")


def test_bad_uid_in_config_names_the_json_path(flow):
    cfg = oci_config(["/bin/true"])
    cfg["process"]["user"]["uid"] = "abc"
    flow.run("--bundle", flow.bundle(cfg, with_rootfs=False), rootfs=False).refused("process.user.uid")


def test_bundle_without_config_json_is_refused(flow, world):
    d = world.user_dir("empty-bundle")
    flow.run("--bundle", d, rootfs=False).refused("config.json")


def test_unknown_option_is_refused(flow):
    flow.run("--bogus-option", cmd=["/bin/true"]).refused("--bogus-option")


def test_unknown_flow_is_refused(flow):
    flow.run("--flow", "sideways", cmd=["/bin/true"], flow_opt=False).refused("--flow")


@pytest.mark.parametrize("spec", ["nope=1:2", "nofile=2:1", "nofile=abc", "nofile"])
def test_bad_rlimit_is_refused(flow, spec):
    flow.run("--rlimit", spec, cmd=["/bin/true"]).refused("--rlimit")


def test_relative_cwd_is_refused(flow):
    flow.run("--cwd", "tmp", cmd=["/bin/true"]).refused("--cwd")


def test_missing_seccomp_profile_is_refused(flow, world):
    missing = world.dir / "no-such-profile.json"
    flow.run("--seccomp", missing, cmd=["/bin/true"]).refused(str(missing))


def test_malformed_seccomp_profile_is_refused(flow, world):
    f = world.write_file("seccomp-bad.json", '{"defaultAction": ')
    flow.run("--seccomp", f, cmd=["/bin/true"]).refused(f.name)


def test_seccomp_profile_with_unknown_action_names_the_json_path(flow, world):
    f = world.write_file("seccomp-action.json", json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}))
    flow.run("--seccomp", f, cmd=["/bin/true"]).refused("syscalls[0].action")


# ---------------------------------------------------------------- the command line itself


@pytest.mark.parametrize("flow", ["setuid", "root"], indirect=True)
def test_help_prints_usage_and_exits_0(flow):
    res = flow.run("--help", flow_opt=False, rootfs=False)
    out = res.ok()
    for option in ("--rootfs", "--bundle", "--flow", "--user", "--cap-add", "--seccomp"):
        assert option in out, "--help should document %s\n%s" % (option, res)


@pytest.mark.parametrize("flow", ["setuid", "root"], indirect=True)
def test_version_prints_name_and_exits_0(flow):
    res = flow.run("--version", flow_opt=False, rootfs=False)
    assert res.ok().startswith("cnlaunch"), res


def test_verbose_run_still_runs_the_command(flow):
    res = flow.run("-v", cmd=["/bin/echo", "hello"])
    assert res.ok() == "hello\n", res


def test_unknown_engine_is_refused(flow):
    flow.run("--engine", "no-such-engine", cmd=["/bin/true"]).refused("no-such-engine")

"""The documented guarantees, asserted on real launches through the pytest plugin,
each beside a breach test: cnlaunch-breach runs an engine that breaks the
guarantee on purpose, and `cntrace check` must fail by the rule it breaks.

Flows: setuid (root-owned 4755 copy, run as 65534), userns (plain copy, as 65534),
root, and fakeroot (a test user with its own subordinate range)."""
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import NOBODY, REPO
from test_launcher_fakeroot import FR_UID, fakeroot_user  # noqa: F401  (a fixture)

BREACH = os.environ.get("CNLAUNCH_BREACH") or str(REPO / "build" / "tests" / "breach" / "cnlaunch-breach")
TEN = ("Config", "InitConfig", "PrepareConfig", "CreateContainer", "StartProcess", "PostStartProcess",
       "MonitorContainer", "CleanupContainer", "PostStartHost", "CleanupHost")


@pytest.fixture(scope="module")
def launchers(world):
    """The breach launcher as a setuid-root copy and as a copy with file capabilities
    (a launcher wrongly shipped with CAP_SYS_ADMIN, run in the userns flow)."""
    setuid = world.dir / "cnlaunch-breach-setuid"
    filecap = world.dir / "cnlaunch-breach-filecap"
    for copy in (setuid, filecap):
        shutil.copyfile(BREACH, copy)
        os.chown(copy, 0, 0)
    os.chmod(setuid, 0o4755)
    os.chmod(filecap, 0o755)
    subprocess.run(["setcap", "cap_sys_admin+ep", str(filecap)], check=True)
    return {"setuid": setuid, "filecap": filecap}


@pytest.fixture(scope="module")
def fakeroot_rootfs(world, fakeroot_user):  # noqa: F811
    return world.rootfs_copy(world.dir / "rootfs-policy-fakeroot", owner=fakeroot_user)


def launch(cntrace, world, flow, cmd=("id",), launcher=None, launch_args=(), fakeroot_rootfs=None):
    if flow == "root":
        return cntrace.run(list(cmd), launcher=launcher or world.root_binary, flow="root",
                           rootfs=world.rootfs_root, launch_args=launch_args)
    if flow == "fakeroot":
        return cntrace.run(list(cmd), as_user=FR_UID, launcher=launcher or world.setuid_binary, flow="fakeroot",
                           rootfs=fakeroot_rootfs, launch_args=launch_args)
    binary = launcher or (world.setuid_binary if flow == "setuid" else world.userns_binary)
    return cntrace.run(list(cmd), as_user=NOBODY, launcher=binary, flow=flow, rootfs=world.rootfs_user,
                       launch_args=launch_args)


# --------------------------------------------------------------------------
# every flow: the built-in policy holds on a real launch


@pytest.mark.parametrize("flow", ["setuid", "userns", "root", "fakeroot"])
def test_launch_satisfies_the_builtin_policy(cntrace, world, flow, fakeroot_rootfs):
    trace = launch(cntrace, world, flow, fakeroot_rootfs=fakeroot_rootfs)
    assert trace.exit_code == 0
    assert trace.flow == flow
    result = trace.assert_policy()
    assert not result.ids("failed")
    # the rules of this flow were applied, not skipped
    assert any(rule_id.startswith(flow + ".") for rule_id in result.ids("passed")) or flow == "root"


@pytest.mark.parametrize("flow", ["setuid", "userns", "root"])
def test_every_stage_is_accounted_to_a_role_and_nothing_is_lost(cntrace, world, flow):
    trace = launch(cntrace, world, flow)
    assert {s.name for s in trace.stages} == set(TEN)
    assert not trace.processes_by_role("other")
    assert trace.lost_events == 0


# --------------------------------------------------------------------------
# setuid


@pytest.mark.parametrize("stage", ["PrepareConfig", "PostStartHost", "CleanupHost"])
def test_setuid_dropped_stages_gain_nothing(cntrace, world, stage):
    st = launch(cntrace, world, "setuid").stage(stage)
    assert st.host_privilege() == []
    assert st.raises() == []
    assert st.capabilities_used(host=True) == []


def test_setuid_startprocess_ends_as_the_caller_with_no_capabilities(cntrace, world):
    st = launch(cntrace, world, "setuid").stage("StartProcess")
    assert st.raises() == []
    exit_creds = st.creds.exit
    assert exit_creds.uid[:3] == [NOBODY] * 3
    assert not any(exit_creds.caps[s] for s in ("effective", "permitted", "inheritable", "ambient"))


def test_setuid_rpc_server_raises_cap_sys_admin_only_in_createcontainer(cntrace, world):
    trace = launch(cntrace, world, "setuid")
    used = trace.stage("CreateContainer").capabilities_used(host=True, cap="CAP_SYS_ADMIN", role="rpc_server")
    assert used, "the RPC server's mounts should show host CAP_SYS_ADMIN uses"
    for name in TEN:
        if name != "CreateContainer":
            for s in trace.stages_named(name):
                assert not s.capabilities_used(host=True, role="rpc_server")


def test_breach_prepareconfig_regains_euid_is_caught(cntrace, world, launchers):
    trace = launch(cntrace, world, "setuid", launcher=launchers["setuid"],
                   launch_args=["--engine", "breach-prepareconfig-regain"])
    assert trace.stage("PrepareConfig").raises(), "the breach engine should regain euid 0"
    result = trace.check()
    assert "setuid.prepareconfig.dropped" in result.ids("failed"), result.report()


def test_breach_startprocess_keeps_a_capability_is_caught(cntrace, world, launchers):
    trace = launch(cntrace, world, "setuid", launcher=launchers["setuid"],
                   launch_args=["--engine", "breach-startprocess-keep-cap"])
    result = trace.check()
    assert "setuid.startprocess.final-creds" in result.ids("failed"), result.report()
    assert "CAP_SYS_ADMIN" in result.report()


def test_breach_cleanuphost_keeps_saved_uid_0_is_caught(cntrace, world, launchers):
    trace = launch(cntrace, world, "setuid", launcher=launchers["setuid"],
                   launch_args=["--engine", "breach-cleanuphost-saved-uid"])
    result = trace.check()
    assert "setuid.cleanuphost.dropped" in result.ids("failed"), result.report()


def test_breach_cleanuphost_skipped_is_caught(cntrace, world, launchers):
    trace = launch(cntrace, world, "setuid", launcher=launchers["setuid"],
                   launch_args=["--engine", "breach-cleanuphost-skipped"])
    assert not trace.stages_named("CleanupHost")
    result = trace.check()
    assert "all.cleanup-host-ran" in result.ids("failed"), result.report()


# --------------------------------------------------------------------------
# userns


def test_userns_no_process_holds_or_uses_host_privilege(cntrace, world):
    trace = launch(cntrace, world, "userns")
    assert trace.host_privilege() == []
    assert trace.capabilities_used(host=True) == []
    assert trace.capabilities_used(host=False), "the RPC server's mounts use capabilities in the child namespace"


def test_breach_userns_host_capability_use_is_caught(cntrace, world, launchers):
    trace = launch(cntrace, world, "userns", launcher=launchers["filecap"],
                   launch_args=["--engine", "breach-userns-host-cap"])
    assert trace.flow == "userns"
    assert trace.capabilities_used(host=True, cap="CAP_SYS_ADMIN")
    result = trace.check()
    assert "userns.no-host-privilege" in result.ids("failed"), result.report()


# --------------------------------------------------------------------------
# root and fakeroot


def test_root_startprocess_ends_with_the_configured_capabilities(cntrace, world):
    trace = launch(cntrace, world, "root", launch_args=["--cap-drop", "CAP_NET_RAW"])
    caps = trace.stage("StartProcess").creds.exit.caps
    assert "CAP_NET_RAW" not in caps["effective"] and "CAP_CHOWN" in caps["effective"]
    trace.assert_policy()


def test_breach_root_startprocess_keeps_a_capability_is_caught(cntrace, world):
    trace = launch(cntrace, world, "root", launcher=BREACH, launch_args=["--engine", "breach-startprocess-keep-cap"])
    result = trace.check()
    assert "root.startprocess.final-creds" in result.ids("failed"), result.report()


@pytest.mark.parametrize("stage", ["PrepareConfig", "PostStartHost", "CleanupHost"])
def test_fakeroot_dropped_stages_gain_nothing(cntrace, world, fakeroot_rootfs, stage):
    st = launch(cntrace, world, "fakeroot", fakeroot_rootfs=fakeroot_rootfs).stage(stage)
    assert st.host_privilege() == [] and st.raises() == [] and st.capabilities_used(host=True) == []


def test_fakeroot_container_holds_no_host_privilege(cntrace, world, fakeroot_rootfs):
    st = launch(cntrace, world, "fakeroot", fakeroot_rootfs=fakeroot_rootfs).stage("StartProcess")
    assert st.creds.exit.userns_level >= 1 and not st.creds.exit.host_privileged
    assert st.capabilities_used(host=True) == []


def test_breach_fakeroot_cleanuphost_keeps_saved_uid_0_is_caught(cntrace, world, launchers, fakeroot_rootfs):
    trace = launch(cntrace, world, "fakeroot", launcher=launchers["setuid"], fakeroot_rootfs=fakeroot_rootfs,
                   launch_args=["--engine", "breach-cleanuphost-saved-uid"])
    result = trace.check()
    assert "fakeroot.cleanuphost.dropped" in result.ids("failed"), result.report()


# --------------------------------------------------------------------------
# a failed launch still cleans the host up


def test_failed_launch_runs_cleanup_host_and_passes_the_cleanup_rule(cntrace, world):
    trace = launch(cntrace, world, "root", cmd=("no-such-command",))
    assert trace.exit_code == 127
    assert trace.stages_named("CleanupHost")
    assert "all.cleanup-host-ran" in trace.check().ids("passed")


# --------------------------------------------------------------------------
# the CLI gate


def _cntrace_cli(*args, check=False):
    binary = os.environ.get("CNTRACE") or str(REPO / "build" / "cli" / "cntrace")
    return subprocess.run([binary, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=check, text=True)


@pytest.mark.parametrize("flow", ["setuid", "userns", "root"])
def test_run_check_as_65534_passes_on_the_default_rootfs(world, flow):
    binary = {"setuid": world.setuid_binary, "userns": world.userns_binary, "root": world.root_binary}[flow]
    rootfs = world.rootfs_root if flow == "root" else world.rootfs_user
    as_user = [] if flow == "root" else ["--as", NOBODY]
    p = _cntrace_cli("run", "-q", *as_user, "--check", "--launcher", binary, "--rootfs", rootfs, "--", "id")
    assert p.returncode == 0, p.stderr


def test_run_check_exits_1_on_a_breach_with_the_rule_named(world, launchers):
    p = _cntrace_cli("run", "-q", "--as", NOBODY, "--check", "--launcher", launchers["setuid"],
                     "--rootfs", world.rootfs_user, "--engine", "breach-prepareconfig-regain", "--", "true")
    assert p.returncode == 1, p.stderr
    assert "setuid.prepareconfig.dropped" in p.stderr + p.stdout


def test_junit_report_is_valid_xml_with_a_case_per_rule(world, tmp_path, launchers):
    trace, junit = tmp_path / "t.json", tmp_path / "junit.xml"
    _cntrace_cli("run", "-q", "--as", NOBODY, "-o", trace, "--launcher", launchers["setuid"], "--rootfs",
                 world.rootfs_user, "--engine", "breach-cleanuphost-saved-uid", "--", "true", check=True)
    p = _cntrace_cli("check", "--junit", junit, trace)
    assert p.returncode == 1, p.stderr
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = [c for s in suites for c in s.findall("testcase")]
    builtin = json.loads((REPO / "policy" / "builtin.json").read_text())
    assert {c.get("name") for c in cases} == {r["id"] for r in builtin["rules"]}
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert "setuid.cleanuphost.dropped" in failed


def test_check_refuses_a_malformed_policy_with_its_json_path(tmp_path, world):
    trace = tmp_path / "t.json"
    _cntrace_cli("run", "-q", "-o", trace, "--launcher", world.root_binary, "--rootfs", world.rootfs_root, "--",
                 "true", check=True)
    policy = tmp_path / "bad.json"
    policy.write_text(json.dumps({"schema": "cntrace.policy/1", "name": "bad",
                                  "rules": [{"id": "x", "doc": "d", "assert": {"final_creds": {"uid": "nobody"}}}]}))
    p = _cntrace_cli("check", "--policy", policy, trace)
    assert p.returncode == 2
    assert "rules[0].assert.final_creds.uid" in p.stderr and len(p.stderr.strip().splitlines()) == 1

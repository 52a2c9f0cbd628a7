# SPDX-License-Identifier: Apache-2.0
"""The pytest plugin on real launches: the `cntrace` fixture runs `id` through
cnlaunch under the real tracer in the root flow (as root, cntrace's defaults),
the setuid flow (a root-owned 4755 copy run by 65534) and the userns flow (a
plain copy run by 65534), and the Trace helpers read DESIGN.md's guarantees
off each launch; `assert_policy` runs the real `cntrace check` over them and
over a real trace broken by hand.

The copies and the rootfs come from conftest's `world` (a fresh 0755 temp dir:
65534 cannot traverse a root-only checkout). The plugin is loaded by meson's
`-p pytest_cntrace`; run by hand, the fallbacks below load it from python/ and
use build/cli/cntrace.
"""

import copy
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import NOBODY, REPO

try:
    import pytest_cntrace
except ImportError:  # by hand, without PYTHONPATH=python
    sys.path.insert(0, str(REPO / "python"))
    import pytest_cntrace

from pytest_cntrace import CntraceError, Trace, assert_policy

pytest_plugins = ["pytest_cntrace"]  # a no-op under -p pytest_cntrace
if not os.environ.get("CNTRACE"):  # the same default as the tracer's own tests
    os.environ["CNTRACE"] = str(Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build") / "cli" / "cntrace")

# the stages DESIGN.md says hold nothing in the setuid flow
DROPPED_STAGES = ("PrepareConfig", "PostStartHost", "CleanupHost")
MOUNT_SYSCALLS = {"mount", "umount2", "fsopen", "fsconfig", "fsmount", "open_tree", "move_mount",
                  "mount_setattr", "pivot_root"}


@pytest.fixture(scope="module")
def launch(cntrace, world):
    """launch(flow) -> the Trace of `id` in that flow, one launch per flow for this module."""
    cache = {}

    def get(flow):
        if flow not in cache:
            if flow == "root":
                trace = cntrace.run(["id"])  # cntrace's defaults: the build's cnlaunch, flow auto
            else:
                trace = cntrace.run(["id"], as_user=NOBODY, flow=flow, rootfs=world.rootfs_user,
                                    launcher=world.setuid_binary if flow == "setuid" else world.userns_binary,
                                    cwd=world.dir)
            assert trace.exit_code == 0, "the launch failed\n%s\n%s" % (trace.stderr, trace.layout())
            cache[flow] = trace
        return cache[flow]
    return get


@pytest.mark.parametrize("flow", ["root", "setuid", "userns"])
def test_every_launch_is_whole(launch, flow):
    trace = launch(flow)
    assert trace.flow == flow
    assert trace.lost_events == 0 and trace.complete
    assert trace.processes_by_role("other") == []
    assert [p.pid for p in trace.processes_by_role("rpc_server")] != []
    assert {s.name for s in trace.stages} == set(pytest_cntrace.TEN_STAGES)
    assert ("uid=0(root)" if flow == "root" else "uid=65534(nobody)") in trace.stdout
    assert os.path.isfile(trace.path)


def test_root_flow_holds_privilege_everywhere(launch):
    """The control: in the root flow every stage is root, so the helper that must find nothing
    in the setuid flow finds something here."""
    trace = launch("root")
    for name in DROPPED_STAGES:
        held = trace.stage(name).host_privilege()
        assert held and all("host ruid/euid/suid/fsuid 0" in str(s) for s in held), held


def test_setuid_dropped_stages_hold_and_gain_nothing(launch):
    trace = launch("setuid")
    for name in DROPPED_STAGES:
        st = trace.stage(name)
        assert st.host_privilege() == [], name
        assert st.raises() == [], name
        assert st.capabilities_used(host=True) == [], name
        assert st.creds.exit.uid == [NOBODY] * 4 and st.creds.exit.permitted == []


def test_setuid_escalation_only_where_documented(launch):
    """Only the master (the setuid exec, the clone3 in CreateContainer) and the RPC server
    (one capability per request) raise; StartProcess ends with the caller's uid and no caps."""
    trace = launch("setuid")
    assert {(r.stage, r.role) for r in trace.raises()} <= {
        (None, "master"), ("CreateContainer", "master"), ("CreateContainer", "rpc_server")}
    assert any(r.syscall == "execve" and r.stage is None for r in trace.raises())
    sp = trace.stage("StartProcess")
    assert sp.raises() == []
    assert sp.creds.exit.uid == [NOBODY] * 4
    assert sp.creds.exit.effective == [] and sp.creds.exit.permitted == [] and sp.creds.exit.ambient == []
    assert not sp.creds.exit.host_privileged


@pytest.mark.parametrize("flow", ["setuid", "root"])
def test_rpc_server_uses_cap_sys_admin_in_createcontainer(launch, flow):
    cc = launch(flow).stage("CreateContainer")
    assert cc.role == "master" and cc.processes_by_role("rpc_server")
    uses = cc.capabilities_used(host=True, role="rpc_server")
    assert "CAP_SYS_ADMIN" in uses.names
    assert {u.syscall for u in uses if u.cap == "CAP_SYS_ADMIN"} & MOUNT_SYSCALLS
    assert set(cc.syscalls()) & MOUNT_SYSCALLS
    assert not set(launch(flow).stage("PrepareConfig").syscalls()) & MOUNT_SYSCALLS


def test_userns_holds_no_host_privilege_anywhere(launch):
    trace = launch("userns")
    assert trace.host_privilege() == []
    assert trace.capabilities_used(host=True) == []
    # the RPC server still works, with its capabilities in the container's user namespace
    assert "CAP_SYS_ADMIN" in trace.stage("CreateContainer").capabilities_used(host=False, role="rpc_server").names


def test_syscalls_cover_the_launch(launch):
    trace = launch("root")
    total = trace.syscalls()
    assert total["execve"].count >= 2  # cntrace's exec of cnlaunch, the container's of id
    for name, (count, errors) in trace.stage("CreateContainer").syscalls().items():
        assert total[name].count >= count and total[name].errors >= errors


def test_exec_traces_another_program(cntrace):
    trace = cntrace.exec(["/bin/sh", "-c", "exit 3"])
    assert trace.exit_code == 3 and trace.returncode == 3
    assert trace.stages == [] and trace.processes and {p.role for p in trace.processes} == {"other"}


def test_exec_of_a_rootless_bubblewrap(cntrace):
    """README's example: a third-party launcher run by 65534 never holds host privilege, and its
    capabilities live in its own user namespace."""
    trace = cntrace.exec(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                          "id", "-u"], as_user=NOBODY)
    assert trace.exit_code == 0 and trace.stdout == "%d\n" % NOBODY, trace.stderr
    assert trace.host_privilege() == [] and trace.capabilities_used(host=True) == []
    assert "CAP_SYS_ADMIN" in trace.capabilities_used(host=False).names
    assert any(p.programs and p.programs[-1].endswith("/id") for p in trace.processes)


def test_a_failure_of_cntrace_raises(cntrace):
    with pytest.raises(CntraceError) as e:
        cntrace.run(["id"], launcher="/nonexistent/cnlaunch")
    assert e.value.returncode == 125
    assert e.value.line.startswith("cntrace: ") and "/nonexistent/cnlaunch" in e.value.line


def test_a_failed_launch_is_a_trace(cntrace):
    """The launch's failure is evidence, not an error of cntrace (cnlaunch's own 125 included: see
    test_plugin_runner.py; cntrace now refuses a bad configuration before launching)."""
    trace = cntrace.run(["/no/such/command"])
    assert trace.exit_code == 127 and trace.returncode == 127
    assert "cnlaunch: StartProcess" in trace.stderr
    assert trace.stage("StartProcess").rc != 0
    assert trace.stages_named("PostStartHost") == []  # never started ...
    assert trace.stage("CleanupHost").rc == 0          # ... and the host was cleaned up all the same


# --------------------------------------------------------------------------
# the policy, through the real `cntrace check`


@pytest.mark.parametrize("flow,rule", [("root", "root.startprocess.final-creds"),
                                       ("setuid", "setuid.prepareconfig.dropped"),
                                       ("userns", "userns.no-host-privilege")])
def test_assert_policy_passes_each_flow(launch, flow, rule):
    result = launch(flow).assert_policy()
    assert result.passed and result.status(rule) == "passed"
    assert result.status("all.no-lost-events") == "passed"


def test_run_with_check(cntrace, world):
    trace = cntrace.run(["id"], as_user=NOBODY, flow="userns", rootfs=world.rootfs_user,
                        launcher=world.userns_binary, cwd=world.dir, check=True)
    assert trace.check_result.passed


def test_assert_policy_reports_a_hand_broken_real_trace(launch, tmp_path):
    """The real setuid trace with PrepareConfig's exit creds given back a saved uid 0."""
    raw = copy.deepcopy(launch("setuid").raw)
    prep = [s for s in raw["stages"] if s["name"] == "PrepareConfig"][0]
    prep["creds"]["exit"]["uid"][2] = 0
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(AssertionError) as e:
        assert_policy(Trace.load(path))
    msg = str(e.value)
    assert msg.startswith("cntrace policy builtin FAILED: 1 violation of 1 rule in trace %s\n" % path), msg
    assert "\nrule setuid.prepareconfig.dropped: setuid: PrepareConfig, PostStartHost, CleanupHost hold no " \
           "host privilege" in msg, msg
    assert "\n  - PrepareConfig pid %d (stage1): host privilege at exit: suid 0\n" \
           "      creds: uid 65534/65534/0/65534 " % prep["pid"] in msg, msg
    # the trace as it was passes, so the violation is the hand-made break and nothing else
    assert launch("setuid").check().passed

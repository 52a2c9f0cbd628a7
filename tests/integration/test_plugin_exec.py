# SPDX-License-Identifier: Apache-2.0
"""The pytest plugin on a traced `cnlaunch exec`: `cntrace run --flow F exec --id NAME -- CMD`
into a container launched with --id, in the root, setuid and userns flows. The trace shows the
exec's own stages (the master's Config reading the state, STAGE1's three, the join in
CreateContainer, StartProcess in the joined process, the master's and the host helpers'), the
joined process ends StartProcess with exactly the container process's creds, and the built-in
policy holds."""
import os
import sys
from pathlib import Path

import pytest

from conftest import NOBODY, REPO, Status, caps_from_mask
from test_launcher_exec import running, runtime_dir  # noqa: F401 (runtime_dir: an autouse fixture)

try:
    import pytest_cntrace
except ImportError:  # by hand, without PYTHONPATH=python
    sys.path.insert(0, str(REPO / "python"))
    import pytest_cntrace

pytest_plugins = ["pytest_cntrace"]
if not os.environ.get("CNTRACE"):
    os.environ["CNTRACE"] = str(Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build") / "cli" / "cntrace")

SETS = {"effective": "CapEff", "permitted": "CapPrm", "inheritable": "CapInh", "bounding": "CapBnd",
        "ambient": "CapAmb"}


@pytest.mark.parametrize("flow", ["root", "setuid", "userns"], indirect=True)
def test_traced_exec_shows_its_stages_and_the_joined_process_final_creds(flow, cntrace, world):
    with running(flow) as c:
        want = c.host_status()
        trace = cntrace.run(["cat", "/proc/self/status"], launcher=flow.binary, flow=flow.name,
                            launch_args=["exec", "--id", c.name], check=True, cwd=world.dir,
                            as_user=None if flow.name == "root" else NOBODY)
        assert trace.exit_code == 0, trace.stderr
        assert trace.flow == flow.name and trace.lost_events == 0
        assert {s.name for s in trace.stages} == set(pytest_cntrace.TEN_STAGES)
        # the master reads the state first, STAGE1 builds the command's configuration from it
        master_config, stage1_config = trace.stage("Config", role="master"), trace.stage("Config", role="stage1")
        assert master_config.enter_ns < stage1_config.enter_ns
        # the command's own view: the container process's creds
        got = Status.parse(trace.stdout)
        for key in ("Uid", "Gid", *SETS.values()):
            assert got[key] == want[key], key
        # StartProcess: the joined process, dropped before it was born, gains nothing and ends with them
        sp = trace.stage("StartProcess")
        assert sp.role == "stage2" and sp.raises() == []
        assert sp.creds.exit.uid == [flow.caller_uid] * 4
        for name, key in SETS.items():
            assert set(getattr(sp.creds.exit, name)) == caps_from_mask(want[key]), name
        # the join is CreateContainer's: STAGE2's setns on the container's process
        cc = trace.stage("CreateContainer")
        joins = cc.capabilities_used(host=flow.name != "userns", role="stage2", cap="CAP_SYS_ADMIN")
        assert "setns" in {u.syscall for u in joins}, cc
        if flow.name == "userns":
            assert trace.host_privilege() == [] and trace.capabilities_used(host=True) == []
        if flow.name == "setuid":
            assert {(r.stage, r.role) for r in trace.raises()} <= {
                (None, "master"), ("Config", "master"), ("CreateContainer", "master")}
        trace.assert_policy()


@pytest.mark.parametrize("flow", ["root", "setuid"], indirect=True)
def test_traced_exec_sub_cgroup_is_made_in_createcontainer_and_removed_in_cleanupcontainer(flow, cntrace, world):
    """exec --sub-cgroup: the master's mkdir in CreateContainer (a setuid master with euid 0 there,
    as for the container's cgroups), its rmdir in CleanupContainer; nothing of it in STAGE1's
    PrepareConfig or CleanupHost, and the built-in policy holds."""
    with running(flow, "--pids-limit", "20") as c:
        trace = cntrace.run(["true"], launcher=flow.binary, flow=flow.name,
                            launch_args=["exec", "--id", c.name, "--sub-cgroup", "jobs"], check=True,
                            cwd=world.dir, as_user=None if flow.name == "root" else NOBODY)
        assert trace.exit_code == 0, trace.stderr

        def dirs_made_and_removed(stage, role):
            calls = trace.stage(stage, role=role).syscalls()
            return sum(calls[n].count for n in ("mkdir", "mkdirat") if n in calls), \
                calls["rmdir"].count if "rmdir" in calls else 0
        assert dirs_made_and_removed("CreateContainer", "master")[0] >= 1
        assert dirs_made_and_removed("CleanupContainer", "master")[1] >= 1
        for stage, role in (("PrepareConfig", "stage1"), ("CleanupHost", "cleanup_host")):
            assert dirs_made_and_removed(stage, role) == (0, 0), stage
        trace.assert_policy()

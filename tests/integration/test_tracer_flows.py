# SPDX-License-Identifier: Apache-2.0
"""cntrace run over real cnlaunch launches in each flow: every stage is seen
with its role and pid, and the documented privilege story can be read off the
trace (the setuid exec raise, the stages that must hold nothing, the RPC
server's CAP_SYS_ADMIN, the final drop; no host privilege in the userns flow)."""

import os

import pytest

from conftest import NOBODY
from tracer_support import (ROLES, STAGE_ROLES, TEN_STAGES, all_creds, flow_launch_args, host_privileged, run_cntrace,
                            traced_run)

FLOWS = ("setuid", "userns", "root")


@pytest.fixture(scope="module")
def launches(world):
    """One traced launch of /bin/true per flow, shared by the tests of this module."""
    cache = {}

    def get(flow):
        if flow not in cache:
            res = traced_run(world, flow, ["/bin/true"])
            assert res.rc == 0, "the traced launch failed\n%s" % res
            cache[flow] = res
        return cache[flow]
    return get


@pytest.mark.parametrize("flow", FLOWS)
def test_every_stage_appears_with_its_role_and_pid(launches, flow):
    res = launches(flow)
    names = {s["name"] for s in res.stages}
    assert names == set(TEN_STAGES), "stages seen: %s\n%s" % (sorted(names), res)
    for s in res.stages:
        assert s["role"] in STAGE_ROLES[s["name"]], "%s ran as %s" % (s["name"], s["role"])
        proc = res.process(s["pid"])
        assert s["role"] in proc["roles"], "stage %s pid %d: the process never had role %s (%s)" % (
            s["name"], s["pid"], s["role"], proc["roles"])
        assert s["exit_ns"] is not None and s["exit_ns"] >= s["enter_ns"], "%s never exited" % s["name"]
        assert s["rc"] == 0
    # one process per role of the starter's tree, all accounted to a role
    for role in ("master", "stage1", "post_start_host", "cleanup_host", "rpc_server", "stage2"):
        assert len(res.by_role(role)) == 1, "expected one %s, got %s" % (role, res.by_role(role))
    for p in res.processes:
        assert p["role"] in ROLES and p["role"] != "other", "process %d has no role" % p["pid"]
    assert res.trace["tracer"]["lost_events"] == 0
    assert res.trace["tracer"]["complete"]
    assert res.trace["launch"]["exit_code"] == 0
    assert res.trace["launch"]["flow"] == flow


@pytest.mark.parametrize("flow", FLOWS)
def test_process_tree_is_the_starters(launches, flow):
    res = launches(flow)
    master = res.by_role("master")[0]
    assert master["pid"] == res.trace["launch"]["pid"], "the process the user ran becomes master"
    assert master["roles"][:2] == ["starter", "master"]
    for role in ("stage1", "post_start_host", "cleanup_host"):
        assert res.by_role(role)[0]["ppid"] == master["pid"], "%s is forked by master" % role
    container = res.by_role("stage2")[0]
    assert container["roles"][-2:] == ["stage2", "container"], "STAGE2 becomes the container at its exec"
    assert container["ppid"] == master["pid"]
    assert "CLONE_NEWPID" in container["namespaces"] and "CLONE_NEWNS" in container["namespaces"]
    assert ("CLONE_NEWUSER" in container["namespaces"]) == (flow == "userns")
    assert container["execs"][-1]["filename"] == "/bin/true"
    assert res.by_role("rpc_server")[0]["ppid"] == container["pid"], "the container child forks the RPC server"


def test_setuid_flow_starts_with_the_setuid_exec_raise(launches):
    res = launches("setuid")
    master = res.by_role("master")[0]
    first = [x for x in res.trace["transitions"] if x["pid"] == master["pid"]][0]
    assert first["kind"] == "exec" and first["syscall"] == "execve", first
    assert first["raise"] and first["host_raise"]
    assert first["stage"] is None, "the setuid exec comes before any stage"
    assert first["before"]["uid"] == [NOBODY] * 4
    assert first["after"]["uid"][1] == 0, "euid 0 after the setuid exec"
    assert first["after"]["uid"][0] == NOBODY


@pytest.mark.parametrize("stage", ["PrepareConfig", "PostStartHost", "CleanupHost"])
def test_setuid_unprivileged_stages_hold_no_host_privilege(launches, stage):
    res = launches("setuid")
    for s in res.stage(stage):
        for when in ("entry", "exit"):
            c = s["creds"][when]
            assert not host_privileged(c), "%s %s pid %d holds host privilege: %s" % (stage, when, s["pid"], c)
            assert c["uid"][:3] == [NOBODY] * 3, "%s dropped permanently: r/e/s uid = user" % stage
        assert not [x for x in s["transitions"] if x["raise"]], "%s raised: %s" % (stage, s["transitions"])
        uses = [c for c in s["capability_checks"] if c["granted"] and c["host_ns"]]
        assert not uses, "%s used host capabilities: %s" % (stage, uses)


def test_setuid_rpc_server_uses_cap_sys_admin_during_createcontainer(launches):
    res = launches("setuid")
    rpc = res.by_role("rpc_server")[0]
    (create,) = res.stage("CreateContainer")
    uses = [c for c in create["capability_checks"]
            if c["pid"] == rpc["pid"] and c["cap"] == "CAP_SYS_ADMIN" and c["granted"] and c["host_ns"]]
    assert uses, "no CAP_SYS_ADMIN use by the RPC server in CreateContainer\n%s" % create["capability_checks"]
    assert {"mount", "pivot_root"} & {c["syscall"] for c in uses} or \
        {"open_tree", "move_mount", "fsmount"} & {c["syscall"] for c in uses}
    # raised per request: effective gains CAP_SYS_ADMIN and loses it again
    raises = [x for x in create["transitions"] if x["pid"] == rpc["pid"] and x["raise"]]
    assert raises and all(x["syscall"] == "capset" for x in raises)
    assert "CAP_SYS_ADMIN" in raises[0]["after"]["caps"]["effective"]
    assert not host_privileged(rpc["creds"]["exit"]) or rpc["creds"]["exit"]["caps"]["effective"] == [], \
        "the RPC server ends with an empty effective set"


def test_setuid_startprocess_makes_the_final_drop_and_no_raise(launches):
    res = launches("setuid")
    (start,) = res.stage("StartProcess")
    assert host_privileged(start["creds"]["entry"]), "STAGE2 starts privileged in the setuid flow"
    assert not [x for x in start["transitions"] if x["raise"]], start["transitions"]
    moves = [x["syscall"] for x in start["transitions"]]
    assert "setresuid" in moves and "capset" in moves, moves
    container = res.by_role("stage2")[0]
    final = container["execs"][-1]["creds"]
    assert final["uid"][:3] == [NOBODY] * 3, "r/e/s uid = target after the exec"
    assert final["caps"]["effective"] == [] and final["caps"]["permitted"] == [], "no capabilities configured"
    assert not host_privileged(final)


def test_userns_flow_never_holds_host_privilege(launches):
    res = launches("userns")
    for where, creds in all_creds(res.trace):
        assert not host_privileged(creds), "%s holds host privilege: %s" % (where, creds)
    host_uses = [c for c in res.trace["capability_checks"] if c["granted"] and c["host_ns"]]
    assert not host_uses, "host capability uses in the userns flow: %s" % host_uses
    granted = [c for c in res.trace["capability_checks"] if c["granted"]]
    assert granted, "the container's setup uses capabilities in its own namespace"
    # the container child is born with all caps, in the child user namespace only
    clone = [x for x in res.trace["transitions"] if x["kind"] == "clone"]
    assert clone and clone[0]["after"]["userns_level"] == 1 and not clone[0]["host_raise"]


def test_root_flow_holds_root_and_keeps_the_oci_default_caps(launches):
    res = launches("root")
    container = res.by_role("stage2")[0]
    final = container["execs"][-1]["creds"]
    assert final["uid"] == [0, 0, 0, 0]
    assert set(final["caps"]["effective"]) == {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}


@pytest.mark.parametrize("flow", FLOWS)
def test_traced_launch_keeps_the_containers_exit_status(world, flow):
    res = traced_run(world, flow, ["/bin/sh", "-c", "exit 7"])
    assert res.rc == 7, res
    assert res.trace["launch"]["exit_code"] == 7
    assert res.by_role("stage2")[0]["exit_code"] == 7


def privilege_story(trace):
    """What a trace says of privilege, without what differs between two launches (pids, times,
    the inode of a new user namespace, the order in which processes enter their stages)."""
    def creds(c):
        return {k: v for k, v in c.items() if k != "userns"} if c else c
    return sorted(repr((s["name"], s["role"], creds(s["creds"]["entry"]), creds(s["creds"]["exit"]),
                        [(t["syscall"], t["raise"], creds(t["before"]), creds(t["after"])) for t in s["transitions"]]))
                  for s in trace["stages"])


def traced_again(world, flow, **env):
    """The shared launch of `flow` once more, with env added to cntrace's environment: its trace."""
    res = run_cntrace("run", *flow_launch_args(world, flow), "--", "/bin/true", cwd=str(world.dir),
                      env=dict(os.environ, **env))
    assert res.rc == 0 and res.trace, res
    return res.trace


@pytest.mark.parametrize("flow", FLOWS)
def test_the_builds_cut_of_the_kernel_btf_reads_what_the_whole_btf_reads(world, launches, flow):
    """CO-RE relocates against the build's cut of this kernel's BTF (trace/core_btf.h), or, with
    CNTRACE_CORE_BTF=kernel, against the kernel's whole BTF: the same launch tells the same story."""
    cut = launches(flow)
    assert cut.trace["tracer"]["core_btf"] == "built-in", "the build's cut was not used\n%s" % cut
    whole = traced_again(world, flow, CNTRACE_CORE_BTF="kernel")
    assert whole["tracer"]["core_btf"] == "kernel"
    assert privilege_story(cut.trace) == privilege_story(whole)


@pytest.mark.parametrize("flow", FLOWS)
def test_stage_probes_on_uprobe_multi_links_tell_what_perf_event_uprobes_tell(world, launches, flow):
    """The launcher's USDT probes go on one uprobe-multi link a probe (trace/usdt.h: cntrace reads the
    notes and argument specs itself), or, with CNTRACE_UPROBE_LINKS=perf_event, on libbpf's perf-event
    uprobes: the same launch has the same stages, roles and privilege story either way."""
    multi = launches(flow)
    assert multi.trace["tracer"]["stage_probe_links"] == "uprobe_multi", "not on uprobe-multi links\n%s" % multi
    perf = traced_again(world, flow, CNTRACE_UPROBE_LINKS="perf_event")
    assert perf["tracer"]["stage_probe_links"] == "perf_event"
    assert privilege_story(multi.trace) == privilege_story(perf)

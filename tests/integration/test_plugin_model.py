# SPDX-License-Identifier: Apache-2.0
"""The pytest plugin's Trace helpers on hand-made traces (contract fields only,
DESIGN.md "Contract that outside tests rely on"): each helper passes a clean
launch and catches the same launch broken by hand. No kernel, no root."""

import copy
import itertools
import sys
from pathlib import Path

import pytest

try:
    import pytest_cntrace
except ImportError:  # by hand, without PYTHONPATH=python
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
    import pytest_cntrace

from pytest_cntrace import Trace, TraceLookupError, cred_diff, holds_host_privilege

USER = 1000
SUB = 100000  # a subordinate host uid: root of a user namespace maps to it
ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_NET_ADMIN",
            "CAP_SYS_ADMIN"]


# --------------------------------------------------------------------------
# building traces


def creds(uid=USER, gid=None, eff=(), prm=None, bnd=(), amb=(), level=0, nnp=False):
    """A cred object; uid/gid an int (all four) or [r, e, s, fs]."""
    uid = list(uid) if isinstance(uid, (list, tuple)) else [uid] * 4
    gid = uid if gid is None else (list(gid) if isinstance(gid, (list, tuple)) else [gid] * 4)
    return {"uid": uid, "gid": gid,
            "caps": {"effective": list(eff), "permitted": list(eff if prm is None else prm), "inheritable": [],
                     "bounding": list(bnd), "ambient": list(amb)},
            "securebits": 0, "no_new_privs": nnp, "seccomp": "disabled", "userns_level": level}


DROPPED = creds(USER, bnd=ALL_CAPS)                                    # r/e/s uid = user, no caps
MASTER = creds([USER, USER, 0, USER], prm=ALL_CAPS, bnd=ALL_CAPS)     # setuid master: saved uid 0
MASTER_UP = creds([USER, 0, 0, 0], eff=ALL_CAPS, bnd=ALL_CAPS)        # ... raised for clone3
RPC = creds(USER, prm=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], bnd=ALL_CAPS, nnp=True)
RPC_UP = creds(USER, eff=["CAP_SYS_ADMIN"], prm=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], bnd=ALL_CAPS, nnp=True)
FINAL = creds(USER)


def transition(pid, syscall, before, after, is_raise):
    return {"pid": pid, "syscall": syscall, "before": before, "after": after, "raise": is_raise}


def check(pid, cap, syscall, granted=True, host_ns=True, count=1):
    return {"pid": pid, "cap": cap, "granted": granted, "host_ns": host_ns, "syscall": syscall, "count": count}


_CLOCK = itertools.count(10, 10)


def stage(name, pid, entry, exit=None, transitions=(), checks=(), syscalls=None):
    t = next(_CLOCK)
    return {"name": name, "pid": pid, "enter_ns": t, "exit_ns": t + 5,
            "creds": {"entry": entry, "exit": entry if exit is None else exit},
            "transitions": list(transitions), "capability_checks": list(checks),
            "syscalls": dict(syscalls or {})}


def process(pid, ppid, role, execs=(), exit_code=0):
    return {"pid": pid, "ppid": ppid, "role": role, "execs": list(execs), "exit_code": exit_code}


def setuid_trace():
    """A clean setuid launch of `id` as USER: master 100 (saved uid 0), stage1 101, post_start_host
    102 and cleanup_host 103 dropped, stage2 104 (final drop to USER), rpc_server 105."""
    return {
        "schema": "cntrace.trace/1",
        "launch": {"flow": "setuid", "caller": {"uid": USER, "gid": USER}, "argv": ["cnlaunch", "--", "id"],
                   "exit_code": 0},
        "tracer": {"lost_events": 0, "events": 1234},
        "processes": [
            process(100, 1, "master", [{"filename": "/usr/bin/cnlaunch"}]),
            process(101, 100, "stage1"),
            process(102, 100, "post_start_host"),
            process(103, 100, "cleanup_host"),
            process(104, 100, "stage2", [{"filename": "/bin/id"}]),
            process(105, 104, "rpc_server"),
        ],
        "stages": [
            stage("Config", 101, DROPPED),
            stage("InitConfig", 101, DROPPED),
            stage("PrepareConfig", 101, DROPPED, syscalls={"openat": {"count": 4, "errors": 1}}),
            stage("Config", 100, MASTER),
            stage("InitConfig", 100, MASTER),
            stage("CreateContainer", 100, MASTER, transitions=[
                transition(100, "setresuid", MASTER, MASTER_UP, True),
                transition(100, "setresuid", MASTER_UP, MASTER, False),
                transition(105, "capset", RPC, RPC_UP, True),
                transition(105, "capset", RPC_UP, RPC, False),
            ], checks=[
                check(100, "CAP_SYS_ADMIN", "clone3"),
                check(105, "CAP_SYS_ADMIN", "mount", count=3),
                check(105, "CAP_SYS_ADMIN", "open_tree", count=2),
                check(105, "CAP_NET_ADMIN", "ioctl", granted=False),
            ], syscalls={"mount": {"count": 3, "errors": 1}, "openat": {"count": 2, "errors": 0}}),
            stage("StartProcess", 104, MASTER, FINAL, transitions=[
                transition(104, "setresuid", MASTER, FINAL, False),
            ], syscalls={"setresuid": {"count": 1, "errors": 0}, "execve": {"count": 1, "errors": 0}}),
            stage("PostStartProcess", 100, MASTER),
            stage("MonitorContainer", 100, MASTER),
            stage("PostStartHost", 102, DROPPED),
            stage("CleanupContainer", 100, MASTER),
            stage("CleanupHost", 103, DROPPED),
        ],
    }


USERNS_ROOT = creds(SUB, eff=ALL_CAPS, bnd=ALL_CAPS, level=1)  # root of the container's userns


def userns_trace():
    """A clean userns launch: nothing holds host privilege; the RPC server's caps live in level 1."""
    tr = setuid_trace()
    tr["launch"]["flow"] = "userns"
    plain = creds(USER, bnd=ALL_CAPS)
    rpc = creds(SUB, prm=["CAP_SYS_ADMIN"], bnd=ALL_CAPS, level=1)
    rpc_up = creds(SUB, eff=["CAP_SYS_ADMIN"], prm=["CAP_SYS_ADMIN"], bnd=ALL_CAPS, level=1)
    for s in tr["stages"]:
        s["creds"] = {"entry": plain, "exit": plain}
        s["transitions"] = []
        s["capability_checks"] = []
    cc = _stage(tr, "CreateContainer")
    cc["transitions"] = [transition(105, "capset", rpc, rpc_up, True), transition(105, "capset", rpc_up, rpc, False)]
    cc["capability_checks"] = [check(105, "CAP_SYS_ADMIN", "mount", host_ns=False, count=3)]
    sp = _stage(tr, "StartProcess")
    sp["creds"] = {"entry": USERNS_ROOT, "exit": creds(SUB + USER, bnd=ALL_CAPS, level=1)}
    return tr


def _stage(tr, name, pid=None):
    found = [s for s in tr["stages"] if s["name"] == name and (pid is None or s["pid"] == pid)]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def setuid():
    return setuid_trace()


@pytest.fixture
def userns():
    return userns_trace()


# --------------------------------------------------------------------------
# the launch and its lookups


def test_launch_fields(setuid):
    t = Trace(setuid)
    assert (t.flow, t.exit_code, t.lost_events, t.complete) == ("setuid", 0, 0, True)
    assert t.caller == {"uid": USER, "gid": USER}
    assert [p.pid for p in t.processes] == [100, 101, 102, 103, 104, 105]
    assert len(t.stages) == 12
    assert t.process(104).programs == ["/bin/id"]
    assert t.process(104)["role"] == "stage2"  # the raw JSON stays reachable


def test_lost_events_caught():
    broken = setuid_trace()
    broken["tracer"]["lost_events"] = 3
    assert Trace(broken).lost_events == 3


def test_stage_is_the_one_entry_with_its_creds_pid_and_role(setuid):
    s = Trace(setuid).stage("PrepareConfig")
    assert (s.name, s.pid, s.role) == ("PrepareConfig", 101, "stage1")  # role from the process list
    assert s.creds.entry.uid == [USER] * 4 and s.creds.exit == DROPPED
    assert s.creds.exit.effective == [] and s.creds.exit.userns_level == 0
    sp = Trace(setuid).stage("StartProcess")
    assert sp.creds.entry.host_privileged and not sp.creds.exit.host_privileged


def test_stage_lookup_errors_list_what_exists(setuid):
    t = Trace(setuid)
    with pytest.raises(TraceLookupError) as e:
        t.stage("Config")
    msg = str(e.value)
    assert "ambiguous" in msg and "Config pid 101 (stage1)" in msg and "Config pid 100 (master)" in msg
    assert "pass role=" in msg
    assert t.stage("Config", role="master").pid == 100

    broken = setuid_trace()
    broken["stages"] = [s for s in broken["stages"] if s["name"] != "CleanupHost"]
    with pytest.raises(TraceLookupError) as e:
        Trace(broken).stage("CleanupHost")
    msg = str(e.value)
    assert "no stage CleanupHost" in msg and "stage PrepareConfig" in msg and "pid 103" in msg
    assert Trace(broken).stages_named("CleanupHost") == []

    with pytest.raises(TraceLookupError, match="not a stage name"):
        t.stage("Prepareconfig")
    with pytest.raises(AssertionError):  # a failed lookup fails a test like an assert
        t.stage("CleanupHost", role="stage1")


def test_processes_by_role_catches_an_unaccounted_process(setuid):
    assert [p.pid for p in Trace(setuid).processes_by_role("rpc_server")] == [105]
    assert Trace(setuid).processes_by_role("other") == []
    broken = setuid_trace()
    broken["processes"].append(process(106, 100, "other", [{"filename": "/usr/bin/newuidmap"}]))
    others = Trace(broken).processes_by_role("other")
    assert [p.pid for p in others] == [106]
    assert "exec /usr/bin/newuidmap" in str(others[0])


def test_stage_processes_by_role(setuid):
    cc = Trace(setuid).stage("CreateContainer")
    assert cc.pids == [100, 105]
    assert [p.pid for p in cc.processes_by_role("rpc_server")] == [105]
    assert Trace(setuid).stage("PrepareConfig").processes_by_role("rpc_server") == []


# --------------------------------------------------------------------------
# host privilege


def test_host_privilege_definition():
    assert not holds_host_privilege(creds(USER))
    assert holds_host_privilege(creds([USER, USER, 0, USER]))          # saved uid 0
    assert holds_host_privilege(creds([USER, USER, USER, 0]))          # fsuid 0
    assert holds_host_privilege(creds(USER, eff=["CAP_NET_RAW"]))      # a cap in the host userns
    assert holds_host_privilege(creds(USER, eff=[], prm=["CAP_NET_RAW"]))
    assert not holds_host_privilege(creds(USER, bnd=ALL_CAPS, amb=[]))  # bounding alone is nothing
    assert not holds_host_privilege(USERNS_ROOT)                        # root of a userns, host uid SUB
    assert holds_host_privilege(creds(0, level=1))                      # host uid 0 anywhere


def test_prepareconfig_host_privilege_catches_a_kept_saved_uid(setuid):
    assert Trace(setuid).stage("PrepareConfig").host_privilege() == []
    broken = setuid_trace()
    _stage(broken, "PrepareConfig")["creds"]["exit"] = creds([USER, USER, 0, USER])
    found = Trace(broken).stage("PrepareConfig").host_privilege()
    assert len(found) == 1
    snap = found[0]
    assert (snap.where, snap.pid, snap.role, snap.stage) == ("stage exit", 101, "stage1", "PrepareConfig")
    assert "PrepareConfig pid 101 (stage1), stage exit" in str(snap) and "host suid 0" in str(snap)


def test_host_privilege_sees_transitions_inside_a_stage(setuid):
    """A temporary raise and drop inside PostStartHost: entry and exit look clean, the transition does not."""
    broken = setuid_trace()
    up = creds([USER, 0, USER, 0])
    _stage(broken, "PostStartHost")["transitions"] = [transition(102, "setresuid", DROPPED, up, True),
                                                      transition(102, "setresuid", up, DROPPED, False)]
    psh = Trace(broken).stage("PostStartHost")
    assert psh.creds.entry == DROPPED and psh.creds.exit == DROPPED
    assert [s.where for s in psh.host_privilege()] == ["transition setresuid after", "transition setresuid before"]


def test_trace_host_privilege_in_userns(userns):
    assert Trace(userns).host_privilege() == []
    # the container's root is privileged only in its own user namespace
    assert Trace(userns).stage("StartProcess").creds.entry.effective

    broken = userns_trace()  # a cap at userns level 0 in the RPC server
    _stage(broken, "CreateContainer")["transitions"].append(
        transition(105, "capset", creds(USER), creds(USER, eff=["CAP_SYS_ADMIN"]), True))
    found = Trace(broken).host_privilege()
    assert {(s.pid, s.role, s.stage, s.where) for s in found} == {
        (105, "rpc_server", "CreateContainer", "transition capset after")}
    assert "effective caps in the host user namespace: SYS_ADMIN" in str(found[0])

    broken = userns_trace()  # the tracer's per-process creds (beyond the contract) count too
    broken["processes"][0]["creds"] = {"start": creds([USER, USER, 0, USER]), "exit": creds(USER)}
    assert [s.where for s in Trace(broken).host_privilege()] == ["process start"]


# --------------------------------------------------------------------------
# raises


def test_raises_catches_a_regained_euid_in_prepareconfig(setuid):
    t = Trace(setuid)
    assert t.stage("PrepareConfig").raises() == []
    assert {(r.pid, r.role, r.syscall) for r in t.raises()} == {(100, "master", "setresuid"),
                                                                (105, "rpc_server", "capset")}

    broken = setuid_trace()
    temp = creds([USER, USER, 0, USER])  # a "drop" that kept the saved uid...
    up = creds([USER, 0, 0, 0])          # ...lets PrepareConfig regain euid 0
    _stage(broken, "PrepareConfig")["transitions"] = [transition(101, "setresuid", temp, up, True)]
    raises = Trace(broken).stage("PrepareConfig").raises()
    assert len(raises) == 1
    r = raises[0]
    assert (r.stage, r.pid, r.role, r.syscall, r.is_raise) == ("PrepareConfig", 101, "stage1", "setresuid", True)
    assert r.diff() == "euid 1000->0, fsuid 1000->0, egid 1000->0, fsgid 1000->0"
    assert str(r).startswith("PrepareConfig pid 101 (stage1) RAISE in setresuid: euid 1000->0")
    assert len(Trace(broken).raises()) == 3


def test_raises_across_the_trace_count_each_transition_once():
    """The tracer repeats stage transitions at the top level (and in phases) and adds those outside
    any stage, such as the setuid exec: each is counted once, with its stage."""
    tr = setuid_trace()
    cc = _stage(tr, "CreateContainer")
    for i, x in enumerate(cc["transitions"]):
        x.update(tid=x["pid"], ts_ns=1000 + i)
    exec_raise = dict(transition(100, "execve", creds(USER), MASTER, True), tid=100, ts_ns=10, stage=None)
    tr["transitions"] = [exec_raise] + [dict(x, stage="CreateContainer") for x in cc["transitions"]]
    tr["phases"] = [{"id": 1, "pid": 100, "transitions": copy.deepcopy(tr["transitions"])}]
    raises = Trace(tr).raises()
    assert sorted((r.stage or "-", r.syscall) for r in raises) == [
        ("-", "execve"), ("CreateContainer", "capset"), ("CreateContainer", "setresuid")]
    assert len(Trace(tr).transitions()) == 6  # 4 in CreateContainer, 1 in StartProcess, the exec


# --------------------------------------------------------------------------
# capabilities


def test_capabilities_used_in_createcontainer(setuid):
    cc = Trace(setuid).stage("CreateContainer")
    uses = cc.capabilities_used(host=True, role="rpc_server")
    assert uses.names == {"CAP_SYS_ADMIN"}
    assert sum(u.count for u in uses) == 5 and {u.syscall for u in uses} == {"mount", "open_tree"}
    assert cc.capabilities_used(granted=False).names == {"CAP_NET_ADMIN"}
    assert len(cc.capabilities_used(granted=None)) == 4
    assert cc.capabilities_used(cap="CAP_SYS_ADMIN", pid=100)[0].syscall == "clone3"
    assert "CreateContainer pid 105 (rpc_server): CAP_SYS_ADMIN granted in the host x3 in mount" in map(str, uses)
    assert Trace(setuid).stage("PrepareConfig").capabilities_used() == []


def test_capabilities_used_catches_a_host_capability_in_userns(userns):
    t = Trace(userns)
    assert t.capabilities_used(host=True) == []
    assert t.capabilities_used(host=False).names == {"CAP_SYS_ADMIN"}  # in the container's userns: fine

    broken = userns_trace()
    _stage(broken, "CreateContainer")["capability_checks"].append(check(105, "CAP_SYS_ADMIN", "mount"))
    used = Trace(broken).capabilities_used(host=True)
    assert [(u.stage, u.pid, u.role, u.cap, u.syscall) for u in used] == [
        ("CreateContainer", 105, "rpc_server", "CAP_SYS_ADMIN", "mount")]


def test_capability_checks_outside_stages_come_from_the_top_level(setuid):
    tr = setuid_trace()
    cc = _stage(tr, "CreateContainer")
    tr["capability_checks"] = [dict(c, stage="CreateContainer") for c in cc["capability_checks"]] + [
        dict(check(100, "CAP_DAC_OVERRIDE", "openat"), stage=None)]
    t = Trace(tr)
    assert len(t.capability_checks()) == 5
    outside = [c for c in t.capabilities_used(host=True) if c.stage is None]
    assert [(c.pid, c.cap) for c in outside] == [(100, "CAP_DAC_OVERRIDE")]


# --------------------------------------------------------------------------
# syscalls


def test_syscalls_merged_over_the_stages(setuid):
    t = Trace(setuid)
    sc = t.syscalls()
    assert sc["openat"] == (6, 1) and sc["mount"] == (3, 1) and sc["execve"] == (1, 0)
    assert sc["mount"].count == 3 and sc["mount"].errors == 1
    assert t.stage("PrepareConfig").syscalls() == {"openat": (4, 1)}


def test_syscalls_catch_a_mount_in_prepareconfig(setuid):
    assert "mount" not in Trace(setuid).stage("PrepareConfig").syscalls()
    broken = setuid_trace()
    _stage(broken, "PrepareConfig")["syscalls"]["mount"] = {"count": 1, "errors": 0}
    assert Trace(broken).stage("PrepareConfig").syscalls()["mount"] == (1, 0)


def test_syscalls_prefer_the_launch_wide_table(setuid):
    tr = setuid_trace()
    tr["syscalls"] = {"read": {"count": 9, "errors": 0}}
    assert Trace(tr).syscalls() == {"read": (9, 0)}


# --------------------------------------------------------------------------
# reading creds


def test_cred_diff():
    assert cred_diff(DROPPED, DROPPED) == ""
    assert cred_diff(creds(USER), creds([USER, 0, 0, 0], gid=USER)) == "euid 1000->0, suid 1000->0, fsuid 1000->0"
    d = cred_diff(RPC, RPC_UP)
    assert d == "eff +SYS_ADMIN"
    assert cred_diff(creds(USER), creds(USER, nnp=True)) == "no_new_privs false->true"
    many = cred_diff(creds(USER), creds(USER, eff=ALL_CAPS, prm=[]))
    assert many == "eff +CHOWN,DAC_OVERRIDE,SETUID,SETGID+3"


def test_trace_from_a_file(tmp_path, setuid):
    import json
    path = tmp_path / "t.json"
    path.write_text(json.dumps(setuid))
    t = pytest_cntrace.load_trace(path)
    assert t.path == str(path) and t.flow == "setuid"
    assert "flow setuid, exit 0, 6 processes, 12 stages" in t.layout()
    with pytest.raises(TypeError):
        Trace([])

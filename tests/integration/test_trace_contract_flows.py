# SPDX-License-Identifier: Apache-2.0
"""Issue 3's promises about one traced launch in each flow, checked from the
contract alone (DESIGN.md: the stage/privilege table, "What privilege means",
and the JSON trace). One `cntrace run` per flow serves every test here:

    cntrace run -o T.json --launcher COPY [--as 65534] --flow F --rootfs R -- \
        /bin/sh -c 'cat /proc/self/status; exit 7'

setuid: a root-owned 4755 copy of cnlaunch, --as 65534; userns: a plain copy,
--as 65534; root: a plain copy, no --as.
"""

import json
import subprocess

import pytest

from conftest import NOBODY, Flow, Status
from trace_fixtures import (CAP_SETS, EXEC_SYSCALLS, FLOW_CMD, FLOW_EXIT, LAUNCHER_ROLES, MASTER_STAGES,
                            MOUNT_SYSCALLS, ROLES, STAGE_ROLE, TEN_STAGES, TRACE_SCHEMA, all_cap_checks,
                            all_creds, all_transitions, cred_text, exec_texts, host_privilege, is_cred)
from trace_fixtures import flow_traces, tracer  # noqa: F401 (pytest fixtures)

DROPPED_STAGES = ("PrepareConfig", "PostStartHost", "CleanupHost")


# --------------------------------------------------------------------------
# checks shared by the three flows


def check_contract_fields(t, flow_name):
    """The fields DESIGN.md lists as "at least", with their types."""
    tr = t.json()
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    need(tr.get("schema") == TRACE_SCHEMA, "schema is %r, want %r" % (tr.get("schema"), TRACE_SCHEMA))
    launch = tr.get("launch") or {}
    need(launch.get("flow") == flow_name, "launch.flow is %r, want %r" % (launch.get("flow"), flow_name))
    caller = 0 if flow_name == "root" else NOBODY
    need(launch.get("caller") == {"uid": caller, "gid": caller} or
         (isinstance(launch.get("caller"), dict) and launch["caller"].get("uid") == caller and
          launch["caller"].get("gid") == caller),
         "launch.caller is %r, want uid and gid %d" % (launch.get("caller"), caller))
    argv = launch.get("argv")
    need(isinstance(argv, list) and argv[-len(FLOW_CMD):] == FLOW_CMD,
         "launch.argv %r does not end with the command %r" % (argv, FLOW_CMD))
    need("exit_code" in launch, "launch.exit_code missing")
    tracer_ = tr.get("tracer") or {}
    need(isinstance(tracer_.get("lost_events"), int), "tracer.lost_events missing or not an integer")
    need(isinstance(tracer_.get("events"), int) and tracer_.get("events") > 0,
         "tracer.events is %r, want a positive integer" % tracer_.get("events"))
    for i, p in enumerate(tr.get("processes") or []):
        for key, typ in (("pid", int), ("ppid", int), ("role", str), ("execs", list)):
            need(isinstance(p.get(key), typ), "processes[%d].%s is %r" % (i, key, p.get(key)))
        need("exit_code" in p, "processes[%d].exit_code missing" % i)
    need(tr.get("processes"), "processes[] empty or missing")
    need(tr.get("stages"), "stages[] empty or missing")
    for i, s in enumerate(tr.get("stages") or []):
        where = "stages[%d] (%s)" % (i, s.get("name"))
        for key, typ in (("name", str), ("pid", int), ("enter_ns", int), ("exit_ns", int),
                         ("creds", dict), ("transitions", list), ("capability_checks", list),
                         ("syscalls", dict)):
            need(isinstance(s.get(key), typ), "%s.%s is %r" % (where, key, s.get(key)))
        for end in ("entry", "exit"):
            need(is_cred((s.get("creds") or {}).get(end)), "%s.creds.%s is not a cred object" % (where, end))
        for j, tr_ in enumerate(s.get("transitions") or []):
            for key in ("pid", "syscall", "before", "after", "raise"):
                need(key in tr_, "%s.transitions[%d].%s missing" % (where, j, key))
            need(isinstance(tr_.get("raise"), bool), "%s.transitions[%d].raise not a bool" % (where, j))
            need(is_cred(tr_.get("before")) and is_cred(tr_.get("after")),
                 "%s.transitions[%d] before/after are not cred objects" % (where, j))
        for j, c in enumerate(s.get("capability_checks") or []):
            need(isinstance(c.get("cap"), str) and c["cap"].startswith("CAP_"),
                 "%s.capability_checks[%d].cap is %r" % (where, j, c.get("cap")))
            for key in ("granted", "host_ns"):
                need(isinstance(c.get(key), bool), "%s.capability_checks[%d].%s not a bool" % (where, j, key))
            need("syscall" in c, "%s.capability_checks[%d].syscall missing" % (where, j))
            need(isinstance(c.get("count"), int) and c["count"] >= 1,
                 "%s.capability_checks[%d].count is %r" % (where, j, c.get("count")))
        for name, v in (s.get("syscalls") or {}).items():
            need(isinstance(v, dict) and isinstance(v.get("count"), int) and isinstance(v.get("errors"), int),
                 "%s.syscalls.%s is %r, want {count, errors}" % (where, name, v))
    for path, c in all_creds(tr):
        need(isinstance(c["uid"], list) and len(c["uid"]) == 4 and all(isinstance(x, int) for x in c["uid"]),
             "%s.uid is %r, want [r, e, s, fs]" % (path, c["uid"]))
        need(isinstance(c.get("gid"), list) and len(c["gid"]) == 4, "%s.gid is %r" % (path, c.get("gid")))
        caps = c.get("caps")
        need(isinstance(caps, dict) and all(isinstance(caps.get(k), list) and
                                            all(isinstance(x, str) and x.startswith("CAP_") for x in caps[k])
                                            for k in CAP_SETS),
             "%s.caps is %r, want five lists of CAP_* names" % (path, caps))
        need("securebits" in c, "%s.securebits missing" % path)
        need("no_new_privs" in c, "%s.no_new_privs missing" % path)
        need(c.get("seccomp") in ("disabled", "strict", "filter"), "%s.seccomp is %r" % (path, c.get("seccomp")))
        need(isinstance(c.get("userns_level"), int), "%s.userns_level is %r" % (path, c.get("userns_level")))
    assert not problems, "the trace breaks the JSON contract:\n  %s\n%s" % (
        "\n  ".join(problems[:40]), t)


def check_stages_and_roles(t):
    """All ten stages, each run by the process the design gives it."""
    names = [s.get("name") for s in t.stages]
    missing = [n for n in TEN_STAGES if n not in names]
    unknown = sorted({n for n in names if n not in TEN_STAGES})
    assert not missing and not unknown, "stages missing: %s; not one of the ten: %s\n%s" % (
        missing, unknown, t.layout())
    pids = {p["pid"] for p in t.processes}
    for s in t.stages:
        assert s["pid"] in pids, "stage %s ran in pid %s, which is not in processes[]\n%s" % (
            s["name"], s["pid"], t.layout())
    for name, role in STAGE_ROLE.items():
        for s in t.stage(name):
            got = t.process(s["pid"])["role"]
            assert got == role, "%s ran in pid %s with role %s; the design gives it to %s\n%s" % (
                name, s["pid"], got, role, t.layout())
    master_pids = {s["pid"] for name in MASTER_STAGES for s in t.stage(name)}
    assert len(master_pids) == 1, "the master's stages %s ran in several pids %s\n%s" % (
        MASTER_STAGES, sorted(master_pids), t.layout())
    # Config and InitConfig run in every process that reads the configuration: at least stage 1
    # (before PrepareConfig) and the master (before CreateContainer).
    stage1_pid = t.one_stage("PrepareConfig")["pid"]
    for name in ("Config", "InitConfig"):
        ran_in = {s["pid"] for s in t.stage(name)}
        for who, pid in (("stage1", stage1_pid), ("master", next(iter(master_pids)))):
            assert pid in ran_in, "%s did not run in the %s process (pid %s); it ran in %s\n%s" % (
                name, who, pid, sorted(ran_in), t.layout())
        for pid in ran_in:
            role = t.process(pid)["role"]
            assert role in ("starter", "master", "stage1", "stage2", "post_start_host", "cleanup_host"), \
                "%s ran in pid %s with role %s: not one of the launcher's processes\n%s" % (
                    name, pid, role, t.layout())


def check_starter_tree(t):
    """README's process tree: master forks stage1, post_start_host, cleanup_host and (clone3)
    stage2; stage2 forks the RPC server; the master is the process the tracer started."""
    procs = {r: t.one_by_role(r) for r in LAUNCHER_ROLES}
    master = procs["master"]["pid"]
    for r in ("stage1", "post_start_host", "cleanup_host", "stage2"):
        assert procs[r]["ppid"] == master, "%s (pid %s) has ppid %s; the master is pid %s\n%s" % (
            r, procs[r]["pid"], procs[r]["ppid"], master, t.layout())
    assert procs["rpc_server"]["ppid"] == procs["stage2"]["pid"], \
        "rpc_server (pid %s) has ppid %s; stage2 is pid %s\n%s" % (
            procs["rpc_server"]["pid"], procs["rpc_server"]["ppid"], procs["stage2"]["pid"], t.layout())
    pids = {p["pid"] for p in t.processes}
    roots = [p for p in t.processes if p["ppid"] not in pids]
    assert [p["pid"] for p in roots] == [master], \
        "the launch's first process must be the master (the cnlaunch the tracer started); " \
        "processes whose parent is not traced: %s\n%s" % ([(p["pid"], p["role"]) for p in roots], t.layout())
    assert str(t.launcher) in exec_texts(procs["master"]), \
        "the master's execs[] do not show the launcher %s\n%s" % (t.launcher, t.layout())


def check_every_process_has_a_role(t):
    bad = [(p["pid"], p.get("role")) for p in t.processes if p.get("role") not in ROLES]
    assert not bad, "processes with no contract role: %s\n%s" % (bad, t.layout())
    other = [(p["pid"], p.get("execs")) for p in t.processes if p.get("role") == "other"]
    assert not other, "a plain cnlaunch launch has only launcher and container processes, " \
        "but these are 'other': %s\n%s" % (other, t.layout())
    # The container's shell forks cat: that child belongs to the container.
    stage2 = t.container_pid()
    children = [p for p in t.processes if p["ppid"] == stage2 and p["role"] != "rpc_server"]
    assert children, "the container's child (cat) is not among the processes\n%s" % t.layout()
    for c in children:
        assert c["role"] == "container", "pid %s, forked by the container, has role %s, want container\n%s" % (
            c["pid"], c["role"], t.layout())


def check_no_loss(t):
    lost = (t.json().get("tracer") or {}).get("lost_events")
    assert lost == 0, "tracer.lost_events is %r, want 0\n%s" % (lost, t)


def check_exit_code(t):
    assert t.rc == FLOW_EXIT, "cntrace's exit status must be the container's (%d)\n%s" % (FLOW_EXIT, t)
    launch = t.json()["launch"]
    assert launch.get("exit_code") == FLOW_EXIT, "launch.exit_code is %r, want %d" % (
        launch.get("exit_code"), FLOW_EXIT)
    container = t.process(t.container_pid())
    assert container.get("exit_code") == FLOW_EXIT, \
        "the container process (pid %s, ran StartProcess) has exit_code %r, want %d\n%s" % (
            container["pid"], container.get("exit_code"), FLOW_EXIT, t.layout())
    assert any(s.endswith("/bin/sh") or s == "/bin/sh" for s in exec_texts(container)), \
        "the container process's execs[] do not show /bin/sh: %s" % container.get("execs")


def check_stage_order(t):
    for s in t.stages:
        assert 0 < s["enter_ns"] <= s["exit_ns"], "stage %s pid %s: enter_ns %s exit_ns %s" % (
            s["name"], s["pid"], s["enter_ns"], s["exit_ns"])
    one = {n: t.stage(n)[0] for n in TEN_STAGES}
    order = [("PrepareConfig", "exit_ns", "CreateContainer", "enter_ns"),
             ("CreateContainer", "enter_ns", "StartProcess", "enter_ns"),
             ("StartProcess", "exit_ns", "PostStartProcess", "exit_ns"),
             ("CreateContainer", "exit_ns", "PostStartProcess", "enter_ns"),
             ("PostStartProcess", "exit_ns", "MonitorContainer", "enter_ns"),
             ("MonitorContainer", "exit_ns", "CleanupContainer", "enter_ns"),
             ("StartProcess", "exit_ns", "CleanupHost", "enter_ns")]
    for a, ak, b, bk in order:
        assert one[a][ak] <= one[b][bk], "%s.%s (%d) after %s.%s (%d)\n%s" % (
            a, ak, one[a][ak], b, bk, one[b][bk], t.layout())


def container_status(t):
    """What the container printed: its /proc/self/status (cat's, forked from the shell)."""
    return Status.parse(t.out)


def configured_caps(world, flow_name):
    """The capability sets cnlaunch's configuration gives the container (--print-config)."""
    flow = Flow(flow_name, world, None)
    argv = flow._caller(flow.argv(["--print-config"], cmd=FLOW_CMD))
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(world.dir), check=False)
    assert p.returncode == 0, "cnlaunch --print-config failed: %s" % p.stderr.decode(errors="replace")
    caps = json.loads(p.stdout)["process"]["capabilities"]
    return {k: sorted(caps.get(k, [])) for k in CAP_SETS}


# --------------------------------------------------------------------------
# every flow


@pytest.mark.parametrize("flow_name", ["setuid", "userns", "root"])
def test_flow_trace_has_the_contract_fields(flow_traces, flow_name):
    check_contract_fields(flow_traces[flow_name], flow_name)


def test_setuid_all_ten_stages_run_by_their_roles(flow_traces):
    check_stages_and_roles(flow_traces["setuid"])


def test_userns_all_ten_stages_run_by_their_roles(flow_traces):
    check_stages_and_roles(flow_traces["userns"])


def test_root_all_ten_stages_run_by_their_roles(flow_traces):
    check_stages_and_roles(flow_traces["root"])


def test_setuid_processes_follow_the_starter_tree(flow_traces):
    check_starter_tree(flow_traces["setuid"])


def test_userns_processes_follow_the_starter_tree(flow_traces):
    check_starter_tree(flow_traces["userns"])


def test_root_processes_follow_the_starter_tree(flow_traces):
    check_starter_tree(flow_traces["root"])


def test_setuid_every_process_has_a_role(flow_traces):
    check_every_process_has_a_role(flow_traces["setuid"])


def test_userns_every_process_has_a_role(flow_traces):
    check_every_process_has_a_role(flow_traces["userns"])


def test_root_every_process_has_a_role(flow_traces):
    check_every_process_has_a_role(flow_traces["root"])


def test_setuid_loses_no_event(flow_traces):
    check_no_loss(flow_traces["setuid"])


def test_userns_loses_no_event(flow_traces):
    check_no_loss(flow_traces["userns"])


def test_root_loses_no_event(flow_traces):
    check_no_loss(flow_traces["root"])


def test_setuid_exit_code_is_the_containers(flow_traces):
    check_exit_code(flow_traces["setuid"])


def test_userns_exit_code_is_the_containers(flow_traces):
    check_exit_code(flow_traces["userns"])


def test_root_exit_code_is_the_containers(flow_traces):
    check_exit_code(flow_traces["root"])


@pytest.mark.parametrize("flow_name", ["setuid", "userns", "root"])
def test_flow_stages_run_in_the_documented_order(flow_traces, flow_name):
    check_stage_order(flow_traces[flow_name])


# --------------------------------------------------------------------------
# setuid


def test_setuid_exec_raise_shows_at_the_start(flow_traces):
    """The 4755 exec by 65534 gives the first process euid 0: a raise attributed to execve,
    or the creds recorded with its exec."""
    t = flow_traces["setuid"]
    master = t.one_by_role("master")
    raises = [tr for _, tr in all_transitions(t.json())
              if tr.get("pid") == master["pid"] and tr.get("syscall") in EXEC_SYSCALLS and tr.get("raise")
              and tr["after"]["uid"][1] == 0 and 0 not in tr["before"]["uid"]]
    exec_creds = [c for _, c in all_creds(master.get("execs")) if c["uid"][1] == 0]
    assert raises or exec_creds, \
        "no sign of the setuid exec: want a raise by execve in pid %s (euid 65534 -> 0) or euid 0 in " \
        "its execs[] creds; its transitions: %s; execs: %s\n%s" % (
            master["pid"], [(tr.get("syscall"), tr.get("raise"), tr["before"]["uid"], tr["after"]["uid"])
                            for _, tr in all_transitions(t.json()) if tr.get("pid") == master["pid"]],
            master.get("execs"), t.layout())
    if raises:
        first_stage = min(t.stages, key=lambda s: s["enter_ns"])
        assert first_stage["creds"]["entry"]["uid"][0] == NOBODY, \
            "the first stage's entry creds should be the caller's real uid: %s" % cred_text(
                first_stage["creds"]["entry"])


@pytest.mark.parametrize("stage_name", DROPPED_STAGES)
def test_setuid_dropped_stage_holds_no_host_privilege(flow_traces, stage_name):
    t = flow_traces["setuid"]
    for s in t.stage(stage_name):
        for end in ("entry", "exit"):
            cred = s["creds"][end]
            why = host_privilege(cred)
            assert not why, "%s (pid %s) holds host privilege at %s: %s\n  %s" % (
                stage_name, s["pid"], end, why, cred_text(cred))
            assert cred["uid"][:3] == [NOBODY] * 3, "%s (pid %s) %s r/e/s uid %s, want the caller's" % (
                stage_name, s["pid"], end, cred["uid"])
        for tr in s["transitions"]:
            why = host_privilege(tr["after"])
            assert not why, "%s (pid %s): %s leads to host privilege: %s" % (
                stage_name, s["pid"], tr.get("syscall"), why)


@pytest.mark.parametrize("stage_name", DROPPED_STAGES)
def test_setuid_dropped_stage_makes_no_raise_nor_host_capability_use(flow_traces, stage_name):
    t = flow_traces["setuid"]
    for s in t.stage(stage_name):
        raises = [(tr.get("pid"), tr.get("syscall")) for tr in s["transitions"] if tr.get("raise")]
        assert not raises, "%s (pid %s) raised privilege: %s" % (stage_name, s["pid"], raises)
        uses = [c for c in s["capability_checks"] if c["granted"] and c["host_ns"]]
        assert not uses, "%s (pid %s) used host capabilities: %s" % (stage_name, s["pid"], uses)


def test_setuid_rpc_server_uses_cap_sys_admin_in_host_during_createcontainer(flow_traces):
    """The RPC server (caller's uid, CAP_SYS_ADMIN permitted, raised per request) mounts for the
    master during CreateContainer: those are granted CAP_SYS_ADMIN checks in the host namespace."""
    t = flow_traces["setuid"]
    rpc = t.one_by_role("rpc_server")["pid"]
    stages = t.stage("CreateContainer")
    own = [s for s in stages if s["pid"] == rpc]
    scope = own or stages  # the RPC server's own CreateContainer entry when the trace splits it out
    checks = [c for s in scope for c in s["capability_checks"]]
    mounts = [c for c in checks if c["cap"] == "CAP_SYS_ADMIN" and c["granted"] and c["host_ns"]
              and c.get("syscall") in MOUNT_SYSCALLS]
    assert mounts, "no granted host-namespace CAP_SYS_ADMIN check by a mount syscall in CreateContainer " \
        "(%s); checks seen: %s\n%s" % ("pid %s" % rpc if own else "all pids",
                                      [(c["cap"], c["granted"], c["host_ns"], c.get("syscall"), c["count"])
                                       for c in checks], t.layout())


def test_setuid_startprocess_ends_as_the_caller_with_the_configured_caps(flow_traces, world):
    t = flow_traces["setuid"]
    s = t.one_stage("StartProcess")
    cred = s["creds"]["exit"]
    assert cred["uid"][:3] == [NOBODY] * 3, "StartProcess exit r/e/s uid %s, want %d" % (cred["uid"], NOBODY)
    assert not host_privilege(cred), "StartProcess exits with host privilege: %s" % host_privilege(cred)
    want = configured_caps(world, "setuid")
    assert {k: sorted(cred["caps"][k]) for k in CAP_SETS} == want, \
        "StartProcess exit caps %s, configured %s" % (cred["caps"], want)
    for k in ("effective", "permitted", "inheritable", "ambient"):
        assert not cred["caps"][k], "StartProcess exits with %s %s" % (k, cred["caps"][k])
    # What the container itself sees agrees with the trace.
    st = container_status(t)
    assert st.ids("Uid") == cred["uid"], "container Uid %s, trace %s" % (st.ids("Uid"), cred["uid"])
    for key, k in (("CapEff", "effective"), ("CapPrm", "permitted"), ("CapBnd", "bounding")):
        assert st.caps(key) == frozenset(cred["caps"][k]), "%s %s, trace says %s" % (
            key, sorted(st.caps(key)), cred["caps"][k])


def test_setuid_startprocess_makes_the_final_drop_without_raise(flow_traces):
    t = flow_traces["setuid"]
    s = t.one_stage("StartProcess")
    raises = [(tr.get("syscall"), tr["before"]["uid"], tr["after"]["uid"]) for tr in s["transitions"]
              if tr.get("raise")]
    assert not raises, "StartProcess raised privilege: %s" % raises
    assert s["transitions"], "StartProcess shows no transition: the final drop (setresuid, capset, ...) " \
        "is not in the trace; entry %s, exit %s" % (cred_text(s["creds"]["entry"]), cred_text(s["creds"]["exit"]))
    assert s["creds"]["entry"] != s["creds"]["exit"], "StartProcess entry and exit creds are the same"


# --------------------------------------------------------------------------
# userns


def test_userns_no_process_ever_holds_host_privilege(flow_traces):
    t = flow_traces["userns"]
    bad = [(path, host_privilege(c)) for path, c in all_creds(t.json()) if host_privilege(c)]
    assert not bad, "host privilege in the userns flow:\n  %s" % "\n  ".join("%s: %s" % b for b in bad[:20])


def test_userns_makes_no_host_capability_use(flow_traces):
    t = flow_traces["userns"]
    uses = [(path, c) for path, c in all_cap_checks(t.json()) if c["granted"] and c["host_ns"]]
    assert not uses, "granted host-namespace capability checks in the userns flow:\n  %s" % "\n  ".join(
        "%s: %s" % u for u in uses[:20])


def test_userns_rpc_server_mounts_use_capabilities_in_the_child_namespace(flow_traces):
    t = flow_traces["userns"]
    checks = [c for s in t.stage("CreateContainer") for c in s["capability_checks"]]
    granted = [c for c in checks if c["granted"] and not c["host_ns"] and c["cap"] == "CAP_SYS_ADMIN"
               and c.get("syscall") in MOUNT_SYSCALLS]
    assert granted, "no granted child-namespace CAP_SYS_ADMIN check by a mount syscall in CreateContainer; " \
        "checks seen: %s" % [(c["cap"], c["granted"], c["host_ns"], c.get("syscall")) for c in checks]


def test_userns_container_runs_in_a_user_namespace_as_the_caller(flow_traces):
    t = flow_traces["userns"]
    cred = t.one_stage("StartProcess")["creds"]["exit"]
    assert cred["userns_level"] >= 1, "StartProcess exit creds at userns level %s" % cred["userns_level"]
    assert cred["uid"][:3] == [NOBODY] * 3, "StartProcess exit host r/e/s uid %s, want %d" % (cred["uid"], NOBODY)


# --------------------------------------------------------------------------
# root


def test_root_startprocess_ends_with_the_configured_caps(flow_traces, world):
    t = flow_traces["root"]
    cred = t.one_stage("StartProcess")["creds"]["exit"]
    assert cred["uid"] == [0, 0, 0, 0], "StartProcess exit uid %s, want root" % cred["uid"]
    want = configured_caps(world, "root")
    assert {k: sorted(cred["caps"][k]) for k in CAP_SETS} == want, \
        "StartProcess exit caps %s, configured %s" % (cred["caps"], want)
    st = container_status(t)
    for key, k in (("CapEff", "effective"), ("CapPrm", "permitted"), ("CapBnd", "bounding")):
        assert st.caps(key) == frozenset(cred["caps"][k]), "%s %s, trace says %s" % (
            key, sorted(st.caps(key)), cred["caps"][k])

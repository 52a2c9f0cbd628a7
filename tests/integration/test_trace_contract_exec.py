# SPDX-License-Identifier: Apache-2.0
"""`cntrace exec` on third-party programs (issue 3): unshare -Ur and bubblewrap
show their user namespace and capability events, with per-process attribution,
and the exit status is the program's.

Debian packages: util-linux (unshare), bubblewrap (bwrap).
"""

import shutil

import pytest

from conftest import NOBODY
from trace_fixtures import (MOUNT_SYSCALLS, all_cap_checks, all_creds, all_transitions,
                            exec_texts, host_privilege)
from trace_fixtures import tracer  # noqa: F401 (pytest fixture)


def need_program(name):
    path = shutil.which(name)
    assert path, "%s is not installed (Debian package %s): the exec tests need it" % (
        name, {"bwrap": "bubblewrap", "unshare": "util-linux"}[name])
    return path


def check_ran(t, program):
    assert t.rc == 0, "cntrace exec of %s did not exit 0\n%s" % (program, t)
    lost = (t.json().get("tracer") or {}).get("lost_events")
    assert lost == 0, "tracer.lost_events is %r, want 0\n%s" % (lost, t)
    procs = t.processes
    assert procs, "no processes in the trace\n%s" % t
    assert any(any(s.endswith("/" + program) or s == program for s in exec_texts(p)) for p in procs), \
        "no process's execs[] shows %s\n%s" % (program, t.layout())


def userns_creds(t):
    return [(path, c) for path, c in all_creds(t.json()) if c["userns_level"] >= 1]


def fmt_checks(checks):
    return "\n  ".join("%s: %s granted=%s host_ns=%s syscall=%s count=%s" % (
        p, c["cap"], c["granted"], c["host_ns"], c.get("syscall"), c.get("count")) for p, c in checks[:30])


@pytest.mark.parametrize("caller", ["root", "nobody"])
def test_exec_unshare_shows_its_user_namespace_and_capability_checks(tracer, caller):
    """unshare(CLONE_NEWUSER) moves the process's creds into a new user namespace (a transition
    attributed to unshare); writing uid_map checks CAP_SYS_ADMIN over the new namespace."""
    need_program("unshare")
    extra = [] if caller == "root" else ["--as", str(NOBODY)]
    t = tracer.exec(["unshare", "-Ur", "true"], extra=extra, tag="unshare-" + caller)
    check_ran(t, "true")
    assert userns_creds(t), "no process's creds reach userns level 1\n%s" % t.layout()
    moves = [tr for _, tr in all_transitions(t.json()) if tr.get("syscall") == "unshare"
             and tr["after"]["userns_level"] == tr["before"]["userns_level"] + 1]
    assert moves, "no transition by unshare into a user namespace; transitions: %s" % [
        (tr.get("pid"), tr.get("syscall"), tr["before"]["userns_level"], tr["after"]["userns_level"])
        for _, tr in all_transitions(t.json())]
    checks = all_cap_checks(t.json())
    child = [(p, c) for p, c in checks if c["granted"] and not c["host_ns"]]
    assert child, "no granted capability check in the new user namespace; checks:\n  %s" % fmt_checks(checks)
    if caller == "nobody":
        bad = [(p, host_privilege(c)) for p, c in all_creds(t.json()) if host_privilege(c)]
        assert not bad, "an unprivileged unshare shows host privilege: %s" % bad[:10]
        host = [(p, c) for p, c in checks if c["granted"] and c["host_ns"]]
        assert not host, "an unprivileged unshare used host capabilities:\n  %s" % fmt_checks(host)


def test_exec_bwrap_shows_its_namespaces_and_mounts_in_them(tracer):
    """bwrap --unshare-all as 65534: a new user namespace, and its mounts are granted
    CAP_SYS_ADMIN in that namespace, never in the host."""
    need_program("bwrap")
    t = tracer.exec(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"], extra=["--as", str(NOBODY)],
                    tag="bwrap")
    check_ran(t, "true")
    assert len(t.processes) >= 2, "bwrap forks its sandbox, the trace has %d process(es)\n%s" % (
        len(t.processes), t.layout())
    assert userns_creds(t), "no process's creds reach userns level 1\n%s" % t.layout()
    checks = all_cap_checks(t.json())
    mounts = [(p, c) for p, c in checks if c["granted"] and not c["host_ns"] and c["cap"] == "CAP_SYS_ADMIN"
              and c.get("syscall") in MOUNT_SYSCALLS]
    assert mounts, "no granted child-namespace CAP_SYS_ADMIN check by a mount syscall; checks:\n  %s" % (
        fmt_checks(checks))
    host = [(p, c) for p, c in checks if c["granted"] and c["host_ns"]]
    assert not host, "bwrap run by 65534 used host capabilities:\n  %s" % fmt_checks(host)
    bad = [(p, host_privilege(c)) for p, c in all_creds(t.json()) if host_privilege(c)]
    assert not bad, "bwrap run by 65534 shows host privilege: %s" % bad[:10]
    raises_in_host = [tr for _, tr in all_transitions(t.json()) if tr.get("raise")
                      and tr["after"]["userns_level"] == 0]
    assert not raises_in_host, "raises in the host namespace: %s" % raises_in_host[:5]


def test_exec_exit_status_is_the_programs(tracer):
    t = tracer.exec(["/bin/sh", "-c", "exit 3"], tag="exit3")
    assert t.rc == 3, "cntrace exec must exit with the program's status (3)\n%s" % t


def test_exec_signal_death_exits_128_plus_n(tracer):
    t = tracer.exec(["/bin/sh", "-c", "kill -KILL $$"], tag="killed")
    assert t.rc == 128 + 9, "a program killed by SIGKILL: cntrace must exit 137\n%s" % t

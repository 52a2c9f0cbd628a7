# SPDX-License-Identifier: Apache-2.0
"""cntrace exec over other programs (unshare, bubblewrap): processes, exec
phases, user namespaces, uid map writes and capability checks; following
exactly one launch (double forks, threads, another trace at the same time);
refusing clearly when it cannot trace; cntrace report."""

import json
import os
import shutil
import subprocess
import threading

import pytest

from conftest import NOBODY
from tracer_support import CNTRACE, run_cntrace


def _phase(res, image):
    found = [ph for ph in res.trace["phases"] if ph["image"].endswith(image) and ph["begins_at"] == "exec"]
    assert found, "no phase for %s\n%s" % (image, [ph["image"] for ph in res.trace["phases"]])
    return found[0]


def test_exec_unshare_shows_the_user_namespace_and_its_caps(world):
    res = run_cntrace("exec", "--", "unshare", "-Ur", "true", cwd=str(world.dir))
    assert res.rc == 0, res
    unshare = _phase(res, "/unshare")
    (x,) = [x for x in unshare["transitions"] if "userns" in x["changes"]]
    assert x["syscall"] == "unshare" and x["before"]["userns_level"] == 0 and x["after"]["userns_level"] == 1
    # the uid map write is checked against the new namespace
    writes = [c for c in unshare["capability_checks"] if c["syscall"] == "write" and c["granted"]]
    assert writes and not any(c["host_ns"] for c in writes), unshare["capability_checks"]
    assert unshare["syscalls"]["write"]["count"] >= 3, "setgroups, uid_map, gid_map"
    assert _phase(res, "/true")["creds"]["entry"]["userns_level"] == 1


def test_exec_unshare_as_nobody_gains_caps_only_in_its_namespace(world):
    res = run_cntrace("exec", "--as", "nobody", "--", "unshare", "-Ur", "true", cwd=str(world.dir))
    assert res.rc == 0, res
    (x,) = [x for x in res.trace["transitions"] if x["syscall"] == "unshare"]
    assert x["raise"] and not x["host_raise"], "full caps, but inside the new user namespace"
    assert "CAP_SYS_ADMIN" in x["after"]["caps"]["effective"]
    assert x["after"]["uid"] == [NOBODY] * 4, "host ids stay the caller's"
    assert not [c for c in res.trace["capability_checks"] if c["granted"] and c["host_ns"]]


def test_exec_bubblewrap_shows_its_namespaces_and_capability_drop(world):
    assert shutil.which("bwrap"), "bubblewrap is missing: scripts/install-deps installs it"
    res = run_cntrace("exec", "--as", "nobody", "--", "bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr",
                      "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                      "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "/bin/true",
                      cwd=str(world.dir))
    assert res.rc == 0, res
    procs = res.processes
    assert len(procs) >= 3, "bwrap, its namespace child, the program"
    child = [p for p in procs if "CLONE_NEWUSER" in p["namespaces"]]
    assert child, "bwrap clones into a new user namespace: %s" % [p["namespaces"] for p in procs]
    assert "CLONE_NEWPID" in child[0]["namespaces"] and "CLONE_NEWNET" in child[0]["namespaces"]
    raises = [x for x in res.trace["transitions"] if x["raise"]]
    assert raises and not any(x["host_raise"] for x in raises)
    nnp = [x for x in res.trace["transitions"] if "no_new_privs" in x["changes"]]
    assert nnp and nnp[0]["syscall"] == "prctl", "no_new_privs is attributed to its prctl"
    mounts = [c for c in res.trace["capability_checks"] if c["syscall"] == "mount" and c["granted"]]
    assert mounts and not any(c["host_ns"] for c in mounts)
    true = [p for p in procs if p["execs"] and p["execs"][-1]["filename"] == "/bin/true"]
    assert true and true[0]["execs"][-1]["creds"]["caps"]["effective"] == []


def test_exec_follows_double_forks_and_threads(world):
    script = "(sh -c 'sleep 0.2; exec /bin/true' &); python3 -c 'import threading; " \
             "t=[threading.Thread(target=lambda: open(\"/dev/null\").close()) for _ in range(3)]; " \
             "[x.start() for x in t]; [x.join() for x in t]'"
    res = run_cntrace("exec", "--", "/bin/sh", "-c", script, cwd=str(world.dir))
    assert res.rc == 0, res
    images = [e["filename"] for p in res.processes for e in p["execs"]]
    assert "/bin/true" in images, "the re-parented grandchild is still followed: %s" % images
    py = [p for p in res.processes if p["execs"] and "python3" in p["execs"][-1]["filename"]]
    assert py and py[0]["threads"] >= 3
    assert res.trace["tracer"]["complete"]


def test_two_traces_at_once_each_see_only_their_launch(world):
    results = {}

    def one(tag):
        results[tag] = run_cntrace("exec", "--", "/bin/sh", "-c", "for i in 1 2 3 4 5; do /bin/true; done; "
                                   "sleep 0.3", cwd=str(world.dir))

    threads = [threading.Thread(target=one, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = results["a"], results["b"]
    assert a.rc == 0 and b.rc == 0
    pids_a = {p["pid"] for p in a.processes}
    pids_b = {p["pid"] for p in b.processes}
    assert not pids_a & pids_b, "the traces share processes: %s" % (pids_a & pids_b)
    for res in (a, b):
        assert len(res.processes) == 7, "sh, five /bin/true, sleep: %s" % [
            (p["pid"], p["comm"]) for p in res.processes]


def test_cannot_trace_without_bpf_refuses_in_one_line_and_runs_nothing(world):
    marker = world.dir / "ran-untraced"
    res = run_cntrace("exec", "--", "/bin/touch", str(marker), cwd=str(world.dir), caller=NOBODY, output=False)
    assert res.rc == 125, res
    lines = res.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cntrace: cannot trace: "), res
    assert "not root" in lines[0]
    assert not marker.exists(), "nothing may run untraced"


def test_missing_launcher_or_program_is_refused(world):
    res = run_cntrace("run", "--launcher", world.dir / "no-such-cnlaunch", "--", "/bin/true",
                      cwd=str(world.dir), output=False)
    assert res.rc == 125 and res.err.startswith("cntrace: cannot trace: launcher "), res
    assert len(res.err.splitlines()) == 1
    res = run_cntrace("exec", "--", "no-such-program-xyz", cwd=str(world.dir), output=False)
    assert res.rc == 125 and len(res.err.splitlines()) == 1 and "no-such-program-xyz" in res.err, res


def test_launcher_without_probes_is_refused(world):
    res = run_cntrace("run", "--launcher", "/bin/true", "--", "/bin/true", cwd=str(world.dir), output=False)
    assert res.rc == 125, res
    assert "USDT" in res.err and len(res.err.splitlines()) == 1, res


def test_exit_status_and_signal_pass_through(world):
    res = run_cntrace("exec", "--", "/bin/sh", "-c", "exit 3", cwd=str(world.dir))
    assert res.rc == 3 and res.trace["launch"]["exit_code"] == 3
    res = run_cntrace("exec", "--", "/bin/sh", "-c", "kill -TERM $$", cwd=str(world.dir))
    assert res.rc == 128 + 15 and res.trace["processes"][0]["exit_signal"] == 15


def test_report_prints_the_summary_of_a_saved_trace(world, tmp_path):
    path = tmp_path / "t.json"
    p = subprocess.run([str(CNTRACE), "exec", "-o", str(path), "--", "unshare", "-Ur", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(world.dir), check=False)
    assert p.returncode == 0
    summary_run = p.stderr.decode()
    r = subprocess.run([str(CNTRACE), "report", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    assert r.returncode == 0
    assert r.stdout.decode() == summary_run, "report shows what run showed"
    assert "unshare" in r.stdout.decode() and "userns level 0->1" in r.stdout.decode()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "something/else"}))
    r = subprocess.run([str(CNTRACE), "report", str(bad)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 125 and "not a cntrace trace" in r.stderr.decode()

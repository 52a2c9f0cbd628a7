# SPDX-License-Identifier: Apache-2.0
"""The pytest plugin's runner and policy assertion against a stand-in cntrace
(a script that records its command line and answers what the test set up),
and the plugin's registration in a pytest run of its own: the command lines it
builds, how it tells cntrace's failure from the launch's, and how a policy
violation reads. No kernel, no root; the real cntrace is test_plugin_flows.py's."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"
try:
    import pytest_cntrace
except ImportError:  # by hand, without PYTHONPATH=python
    sys.path.insert(0, str(PYTHON_DIR))
    import pytest_cntrace

from pytest_cntrace import CheckResult, Cntrace, CntraceError, Trace, assert_policy, check

FAKE = r'''#!%s
import json, os, shutil, sys
d = os.environ["FAKE_CNTRACE_DIR"]
args = sys.argv[1:]
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps(args) + "\n")
def read(name, default=None):
    p = os.path.join(d, name)
    return open(p).read() if os.path.exists(p) else default
mode = args[0] if args else ""
if mode in ("run", "exec"):
    if read("trace.json") is not None:
        shutil.copy(os.path.join(d, "trace.json"), args[args.index("-o") + 1])
    sys.stdout.write(read("stdout", "")); sys.stderr.write(read("stderr", ""))
    sys.exit(int(read("rc", "0")))
if mode == "check":
    if read("check_trace") is not None:  # what the checker was given
        shutil.copy(args[-1], os.path.join(d, "checked.json"))
    sys.stdout.write(read("check.json", "")); sys.stderr.write(read("check_stderr", ""))
    sys.exit(int(read("check_rc", "0")))
sys.stderr.write('cntrace: unknown command "%%s"\n' %% mode)
sys.exit(2)
''' % sys.executable


def small_trace(flow="setuid", exit_code=0):
    c = {"uid": [1000] * 4, "gid": [1000] * 4, "caps": {s: [] for s in pytest_cntrace.CAP_SETS},
         "securebits": 0, "no_new_privs": False, "seccomp": "disabled", "userns_level": 0}
    return {"schema": "cntrace.trace/1",
            "launch": {"flow": flow, "caller": {"uid": 1000, "gid": 1000}, "argv": ["cnlaunch"],
                       "exit_code": exit_code},
            "tracer": {"lost_events": 0, "events": 10},
            "processes": [{"pid": 10, "ppid": 1, "role": "stage1", "execs": [], "exit_code": 0}],
            "stages": [{"name": "PrepareConfig", "pid": 10, "enter_ns": 1, "exit_ns": 2,
                        "creds": {"entry": c, "exit": c}, "transitions": [], "capability_checks": [],
                        "syscalls": {}}]}


class Fake:
    def __init__(self, d):
        self.dir = d
        self.script = d / "cntrace"
        self.script.write_text(FAKE)
        self.script.chmod(0o755)

    def set(self, name, value):
        (self.dir / name).write_text(value if isinstance(value, str) else json.dumps(value))

    def calls(self):
        p = self.dir / "calls.jsonl"
        return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []

    def runner(self):
        return Cntrace(self.script, trace_dir=self.dir / "traces")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CNTRACE_DIR", str(tmp_path))
    return Fake(tmp_path)


# --------------------------------------------------------------------------
# running


def test_run_builds_the_command_line_and_loads_the_trace(fake):
    fake.set("trace.json", small_trace())
    fake.set("stdout", "uid=1000\n")
    runner = fake.runner()
    t = runner.run(["id", "-u"], as_user=65534, launcher="/tmp/x/cnlaunch", flow="setuid", rootfs="/tmp/x/rootfs",
                   launch_args=["--user", "65534"], syscalls="full", trace_args=["--linger", "1"])
    (call,) = fake.calls()
    out = call[call.index("-o") + 1]
    assert call == ["run", "-q", "-o", out, "--as", "65534", "--syscalls", "full", "--linger", "1",
                    "--launcher", "/tmp/x/cnlaunch", "--flow", "setuid", "--rootfs", "/tmp/x/rootfs",
                    "--user", "65534", "--", "id", "-u"]
    assert Path(out).parent == fake.dir / "traces"
    assert isinstance(t, Trace) and t.path == out and os.path.exists(out)  # kept
    assert (t.flow, t.exit_code, t.returncode, t.stdout) == ("setuid", 0, 0, "uid=1000\n")
    assert runner.traces == [t] and t.runner is runner

    runner.run(["true"])
    assert fake.calls()[-1][4:] == ["--", "true"]


def test_exec_traces_any_program(fake):
    fake.set("trace.json", small_trace(exit_code=3))
    fake.set("rc", "3")
    t = fake.runner().exec(["/usr/bin/crun", "run", "c1"], as_user="nobody")
    call = fake.calls()[0]
    assert call[0] == "exec" and call[-5:] == ["nobody", "--", "/usr/bin/crun", "run", "c1"]
    assert t.exit_code == 3 and t.returncode == 3  # the launch's status, not an error


def test_a_failure_of_cntrace_raises_with_its_one_line(fake):
    fake.set("stderr", "cntrace: cannot trace: launcher /nonexistent: No such file or directory\n")
    fake.set("rc", "125")
    with pytest.raises(CntraceError) as e:
        fake.runner().run(["id"], launcher="/nonexistent")
    assert e.value.line == "cntrace: cannot trace: launcher /nonexistent: No such file or directory"
    assert e.value.returncode == 125
    assert str(e.value).startswith("cntrace failed (exit 125): cntrace: cannot trace: launcher /nonexistent")

    fake.set("stderr", "cntrace: --syscalls: \"bogus\" is not counts or full\nusage: cntrace run ...\n")
    fake.set("rc", "2")
    with pytest.raises(CntraceError, match=r"exit 2\): cntrace: --syscalls: .* \(and no trace written\)"):
        fake.runner().run(["id"], syscalls="bogus")


def test_a_failed_launch_is_a_trace(fake):
    """125 with a trace of a launch that ended 125 is cnlaunch's own failure: the trace is the evidence."""
    fake.set("trace.json", small_trace(exit_code=125))
    fake.set("stderr", "cnlaunch: PrepareConfig: rootfs /nonexistent: No such file or directory\n")
    fake.set("rc", "125")
    t = fake.runner().run(["id"], rootfs="/nonexistent")
    assert t.exit_code == 125 and "cnlaunch: PrepareConfig" in t.stderr

    fake.set("trace.json", small_trace(exit_code=0))  # cntrace failed after the launch
    fake.set("stderr", "cntrace: writing the trace: No space left on device\n")
    with pytest.raises(CntraceError, match="No space left"):
        fake.runner().run(["id"])


def test_arguments_are_checked(fake):
    with pytest.raises(TypeError, match="list of arguments"):
        fake.runner().run("id -u")
    with pytest.raises(ValueError):
        fake.runner().exec([])
    with pytest.raises(CntraceError, match="no executable cntrace at /nonexistent"):
        Cntrace("/nonexistent")


# --------------------------------------------------------------------------
# the policy


def check_doc(passed, violations=()):
    rules = [{"id": "all.no-lost-events", "doc": "the tracer lost no event", "status": "passed", "violations": []},
             {"id": "userns.no-host-privilege", "doc": "no process of the launch ever holds host privilege",
              "status": "not_applicable", "violations": []}]
    if violations:
        rules.insert(0, {"id": "setuid.prepareconfig.dropped",
                         "doc": "PrepareConfig: privileges dropped permanently; no privilege can be gained",
                         "status": "failed", "violations": list(violations)})
    return {"schema": "cntrace.check/1", "policy": "builtin", "passed": passed, "rules": rules}


def cred(uid):
    return {"uid": uid, "gid": [1000] * 4, "caps": {"effective": [], "permitted": []}, "userns_level": 0}


RAISE = {"rule": "setuid.prepareconfig.dropped", "stage": "PrepareConfig", "pid": 4711, "role": "stage1",
         "syscall": "setresuid", "message": "raise in setresuid: euid 65534->0",
         "before": cred([65534, 65534, 0, 65534]), "after": cred([65534, 0, 0, 65534])}
HELD = {"rule": "setuid.prepareconfig.dropped", "stage": "PrepareConfig", "pid": 4711, "role": "stage1",
        "syscall": "setresuid", "message": "PrepareConfig pid 4711 (stage1): host privilege before setresuid: suid 0",
        "before": None, "after": cred([65534, 65534, 0, 65534])}


def test_assert_policy_passes_and_returns_the_result(fake):
    fake.set("trace.json", small_trace())
    fake.set("check.json", check_doc(True))
    t = fake.runner().run(["id"])
    res = t.assert_policy()
    assert isinstance(res, CheckResult) and res.passed and res.policy == "builtin"
    assert res.status("userns.no-host-privilege") == "not_applicable"
    assert res.ids("passed") == ["all.no-lost-events"] and res.violations == []
    assert fake.calls()[-1] == ["check", "--format", "json", t.path]

    assert_policy(t, "/etc/my-policy.json")
    assert fake.calls()[-1] == ["check", "--format", "json", "--policy", "/etc/my-policy.json", t.path]


def test_assert_policy_lists_each_violation_readably(fake):
    fake.set("trace.json", small_trace())
    fake.set("check.json", check_doc(False, [RAISE, HELD]))
    fake.set("check_rc", "1")
    t = fake.runner().run(["id"])
    with pytest.raises(AssertionError) as e:
        t.assert_policy()
    msg = str(e.value)
    assert msg.splitlines()[0] == "cntrace policy builtin FAILED: 2 violations of 1 rule in trace %s" % t.path
    assert ("rule setuid.prepareconfig.dropped: PrepareConfig: privileges dropped permanently; "
            "no privilege can be gained") in msg
    assert "  - PrepareConfig pid 4711 (stage1) in setresuid: raise in setresuid: euid 65534->0\n" \
           "      diff: euid 65534->0" in msg
    # a message that already says where is not prefixed again
    assert "  - PrepareConfig pid 4711 (stage1): host privilege before setresuid: suid 0\n" \
           "      creds: uid 65534/65534/0/65534" in msg
    assert "all.no-lost-events" not in msg  # only what failed

    res = check(t)  # the same, without raising
    assert not res.passed and res.failed_rules == ["setuid.prepareconfig.dropped"]
    v = res.violations[0]
    assert (v.rule, v.stage, v.pid, v.syscall, v.diff()) == (
        "setuid.prepareconfig.dropped", "PrepareConfig", 4711, "setresuid", "euid 65534->0")
    assert v.doc.startswith("PrepareConfig: privileges dropped")


def test_run_with_check_asserts_the_policy(fake):
    fake.set("trace.json", small_trace())
    fake.set("check.json", check_doc(True))
    t = fake.runner().run(["id"], check=True)
    assert t.check_result.passed
    fake.set("check.json", check_doc(False, [RAISE]))
    fake.set("check_rc", "1")
    with pytest.raises(AssertionError, match="setuid.prepareconfig.dropped"):
        fake.runner().run(["id"], check="/etc/p.json")
    assert fake.calls()[-1][:5] == ["check", "--format", "json", "--policy", "/etc/p.json"]


def test_check_bad_input_and_a_dict_trace(fake):
    fake.set("check_stderr", "cntrace: policy.json: rules[3].assert.final_creds.uid: must be \"caller\" or a number\n")
    fake.set("check_rc", "2")
    with pytest.raises(CntraceError) as e:
        check(small_trace(), "policy.json", cntrace=str(fake.script))
    assert e.value.returncode == 2 and "rules[3].assert.final_creds.uid" in e.value.line

    # a dict is written to a temp file for the checker, and the file is gone afterwards
    fake.set("check_rc", "0")
    fake.set("check.json", check_doc(True))
    fake.set("check_trace", "")
    assert check(small_trace("userns"), cntrace=str(fake.script)).passed
    assert json.loads((fake.dir / "checked.json").read_text())["launch"]["flow"] == "userns"
    assert not os.path.exists(fake.calls()[-1][-1])

    fake.set("check.json", "not json")
    with pytest.raises(CntraceError, match="printed no JSON result"):
        check(small_trace(), cntrace=str(fake.script))
    fake.set("check.json", check_doc(False))  # exit 0 but passed false: not believed
    with pytest.raises(CntraceError, match="exited 0 but says passed=False"):
        check(small_trace(), cntrace=str(fake.script))


# --------------------------------------------------------------------------
# registration in a pytest run


INNER_TEST = '''
import pytest
from pytest_cntrace import Trace

def test_fixture(cntrace):
    t = cntrace.run(["id"], as_user=65534)
    assert isinstance(t, Trace) and t.flow == "setuid"
    assert t.stage("PrepareConfig").host_privilege() == []

def test_fails_and_shows_its_traces(cntrace):
    cntrace.run(["id"])
    assert False, "on purpose"
'''


def inner_pytest(d, fake, *args, env=None):
    full = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), CNTRACE=str(fake.script), FAKE_CNTRACE_DIR=str(fake.dir))
    full.update(env or {})
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(d / "tmp"),
                        "-rA", *args, str(d)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full, cwd=str(d), timeout=60)
    return p.returncode, p.stdout.decode(errors="replace")


@pytest.mark.parametrize("how", ["conftest", "-p"])
def test_the_plugin_loads_by_name(fake, tmp_path, how):
    fake.set("trace.json", small_trace())
    d = tmp_path / "project"
    d.mkdir()
    (d / "test_launch.py").write_text(INNER_TEST)
    args = []
    if how == "conftest":
        (d / "conftest.py").write_text('pytest_plugins = ["pytest_cntrace"]\n')
    else:
        args = ["-p", "pytest_cntrace"]
    rc, out = inner_pytest(d, fake, *args)
    assert rc == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "cntrace: %s" % fake.script in out, out  # the report header names the binary
    # the failed test's report lists the trace files it made (kept under pytest's temp dir)
    section = out[out.index("cntrace traces"):]
    assert "002-test_fails_and_shows_its_traces.json" in section.splitlines()[1], out


def test_the_plugin_options(fake, tmp_path):
    fake.set("trace.json", small_trace())
    d = tmp_path / "project"
    d.mkdir()
    (d / "test_launch.py").write_text(INNER_TEST)
    keep = tmp_path / "kept"
    # --cntrace wins over $CNTRACE; --cntrace-traces keeps the files where CI can collect them
    rc, out = inner_pytest(d, fake, "-p", "pytest_cntrace", "--cntrace", str(fake.script),
                           "--cntrace-traces", str(keep), env={"CNTRACE": "/nonexistent"})
    assert "1 failed, 1 passed" in out, out
    assert sorted(p.name for p in keep.iterdir()) == ["001-test_fixture.json",
                                                      "002-test_fails_and_shows_its_traces.json"]

    rc, out = inner_pytest(d, fake, "-p", "pytest_cntrace", env={"CNTRACE": "/nonexistent"})
    assert "2 error" in out, out
    assert "cntrace fixture: no executable cntrace at /nonexistent ($CNTRACE)" in out, out


def test_the_library_works_without_pytest():
    code = textwrap.dedent('''
        import sys
        sys.modules["pytest"] = None  # make "import pytest" fail
        import pytest_cntrace
        assert not hasattr(pytest_cntrace, "cntrace")
        print(pytest_cntrace.Trace({"launch": {"flow": "root"}}).flow)
    ''')
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(PYTHON_DIR)),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert p.stdout.decode().strip() == "root", p.stdout.decode()

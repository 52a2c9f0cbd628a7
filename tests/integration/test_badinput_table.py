# SPDX-License-Identifier: Apache-2.0
"""The bad-input table (issue 7): malformed config files, policies, traces,
command-line options and rootfs states, for cnlaunch and cntrace.

Each row names the input, the program, the exit status it must give and what
the one line on stderr must name. For every row: that exit status exactly (a
crash or a sanitizer abort is a signal status, never the one expected), stderr
exactly one line starting with "cnlaunch: " or "cntrace: " (or empty when the
row expects success: extreme but valid input, such as 10 000 arguments), and
nothing left behind: conftest's Leftovers (host mounts, processes of ours
running cnlaunch or in another pid namespace, cn* in /tmp, root-owned files in
the temp dir for the runs as 65534) and the cgroup tree are the same after.

Launches as 65534 go through the setuid copy unless the row says otherwise:
that is where bad input meets privilege.
"""

import dataclasses
import json
import os
import subprocess
import uuid

import pytest

from conftest import NOBODY, REPO, Flow, Result
from test_faults import assert_same_cgroups, cgroup_dirs
from trace_fixtures import tracer  # noqa: F401 (pytest fixture)

NON_UTF8 = os.fsdecode(b"no-such-\xff\xfe-dir")  # passed to the kernel as the raw bytes


@dataclasses.dataclass
class Ctx:
    world: object
    leftovers: object
    tracer: object
    flows: dict

    # ---- cnlaunch

    def cnlaunch(self, flow="setuid", args=(), cmd=("/bin/true",), rootfs=True, env=None, flow_opt=True):
        """cnlaunch in flow (setuid: the 4755 copy run by 65534), with conftest's leftover check."""
        f = self.flows[flow]
        argv = f.argv(args, cmd, flow_opt=flow_opt, rootfs=rootfs)
        before = self.leftovers.snapshot(f.caller_uid != 0)
        environ = f._env()
        environ.update(env or {})
        p = subprocess.run(f._caller(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=environ, cwd=str(self.world.dir), timeout=60, check=False)
        res = Result([str(a) for a in argv], p.returncode, p.stdout.decode(errors="replace"),
                     p.stderr.decode(errors="replace"))
        self.leftovers.assert_same(before, "%s flow launch\n%s\n" % (flow, res), f.caller_uid != 0)
        res.prog = "cnlaunch"
        return res

    def bundle(self, config, flow="setuid", owner=NOBODY):
        """A bundle dir (config.json from a dict or text) with a rootfs the flow's caller owns."""
        d = self.world.user_dir("bundle")
        os.symlink(self.flows[flow].rootfs, d / "rootfs")
        text = config if isinstance(config, (str, bytes)) else json.dumps(config)
        (d / "config.json").write_bytes(text if isinstance(text, bytes) else text.encode())
        os.chmod(d / "config.json", 0o644)
        if owner is None:
            os.chown(d / "config.json", 0, 0)
        return d

    def config(self, flow="setuid", **process):
        """The config --print-config gives for the flow, as a dict, with process fields replaced."""
        f = self.flows[flow]
        out = subprocess.run(f._caller(f.argv(["--print-config"], ["/bin/true"])), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=f._env(), check=True).stdout
        cfg = json.loads(out)
        cfg["root"]["path"] = "rootfs"
        cfg["process"].update(process)
        return cfg

    # ---- cntrace

    def cntrace(self, *args, caller=None):
        res = self.tracer.invoke([self.tracer.path] + [str(a) for a in args],
                                 caller=caller, check_leftovers=True)
        res = Result([str(a) for a in res.argv], res.rc, res.out, res.err)
        res.prog = "cntrace"
        return res

    def file(self, name, content, mode=0o644):
        path = self.world.dir / "files" / ("%s.%s" % (uuid.uuid4().hex[:8], name))
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        os.chmod(path, mode)
        return path

    def trace_text(self):
        """A trace of the shape cntrace writes (the unit suite's hand-made setuid trace)."""
        return (REPO / "tests" / "unit" / "policies" / "trace-setuid.json").read_text()


@pytest.fixture
def ctx(world, leftovers, tracer):  # noqa: F811
    flows = {n: Flow(n, world, leftovers) for n in ("setuid", "userns", "root")}
    before = cgroup_dirs()
    yield Ctx(world, leftovers, tracer, flows)
    assert_same_cgroups(before, "the bad input")


AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]
POLICY = {"schema": "cntrace.policy/1", "rules": [
    {"id": "x", "doc": "d", "assert": {"no_raise": True}}]}


def _policy(**rule):
    p = json.loads(json.dumps(POLICY))
    p["rules"][0].update(rule)
    return json.dumps(p)


def _trace_with(ctx, mutate):
    t = json.loads(ctx.trace_text())
    mutate(t)
    return json.dumps(t)


def _loop(ctx):
    link = ctx.world.dir / ("loop-" + uuid.uuid4().hex[:8])
    os.symlink(link.name, link)
    return link


def _unreadable_dir(ctx):
    d = ctx.world.dir / ("root-only-" + uuid.uuid4().hex[:8])
    d.mkdir(mode=0o700)
    return d


# Each row: (id, run(ctx) -> Result, exit status, needles the one line must name).
# A needle may be a tuple of alternatives.
ROWS = [
    # ---------------------------------------------------------------- config.json (bundles)
    ("config-malformed", lambda c: c.cnlaunch(args=["--bundle", c.bundle('{"process": {"args": ')], rootfs=False,
                                              cmd=None), 125, ["config.json", "malformed JSON"]),
    ("config-empty-file", lambda c: c.cnlaunch(args=["--bundle", c.bundle("")], rootfs=False, cmd=None),
     125, ["config.json", "malformed JSON at byte 0"]),
    ("config-not-an-object", lambda c: c.cnlaunch(args=["--bundle", c.bundle("[1, 2]")], rootfs=False, cmd=None),
     125, ["config.json", "must be a JSON object"]),
    ("config-trailing-garbage", lambda c: c.cnlaunch(args=["--bundle", c.bundle('{} {"x": 1}')], rootfs=False,
                                                     cmd=None), 125, ["config.json", "trailing data"]),
    ("config-nul-byte", lambda c: c.cnlaunch(args=["--bundle", c.bundle(b'{"hostname": "a"}\0{}')], rootfs=False,
                                             cmd=None), 125, ["config.json", "NUL byte"]),
    ("config-nesting-10000-deep", lambda c: c.cnlaunch(args=["--bundle", c.bundle("[" * 10000 + "]" * 10000)],
                                                       rootfs=False, cmd=None), 125, ["config.json", "too deep"]),
    ("config-17-MiB", lambda c: c.cnlaunch(args=["--bundle", c.bundle('{"hostname": "%s"}' % ("x" * (17 << 20)))],
                                           rootfs=False, cmd=None), 125, ["config.json", "more than"]),
    ("config-uid-not-a-number", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(user={"uid": "abc"}))],
                                                     rootfs=False, cmd=None), 125, ["process.user.uid"]),
    ("config-uid-4294967295", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        user={"uid": 4294967295, "gid": NOBODY}))], rootfs=False, cmd=None), 125, ["process.user.uid", "valid id"]),
    ("config-gid-negative", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        user={"uid": NOBODY, "gid": -1}))], rootfs=False, cmd=None), 125, ["process.user.gid"]),
    ("config-setuid-uid-0", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        user={"uid": 0, "gid": NOBODY}))], rootfs=False, cmd=None), 125, ["process.user.uid", "caller"]),
    ("config-70000-additional-gids", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        user={"uid": NOBODY, "gid": NOBODY, "additionalGids": [NOBODY] * 70000}))], rootfs=False, cmd=None),
     125, ["process.user.additionalGids", "70000"]),
    ("config-unknown-capability", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        capabilities={"bounding": ["CAP_CHOWN", "CAP_NOPE"]}))], rootfs=False, cmd=None),
     125, ["process.capabilities.bounding[1]", "CAP_NOPE"]),
    ("config-capability-with-newline-and-escape", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        capabilities={"bounding": ["CAP_\n\x1b[31mRED"]}))], rootfs=False, cmd=None),
     125, ["process.capabilities.bounding[0]", "CAP_\\n\\x1b[31mRED"]),
    ("config-args-not-strings", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(args=[1, 2]))],
                                                     rootfs=False, cmd=None), 125, ["process.args[0]"]),
    ("config-env-not-key-value", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(env=["NOEQUALS"]))],
                                                      rootfs=False, cmd=None), 125, ["process.env[0]"]),
    ("config-env-string-200-KiB", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        env=["BIG=" + "x" * (200 << 10)]))], rootfs=False, cmd=None), 126, ["StartProcess", "Argument list too long"]),
    ("config-relative-cwd", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(cwd="tmp"))], rootfs=False,
                                                 cmd=None), 125, ["process.cwd"]),
    ("config-rlimit-soft-above-hard", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]))], rootfs=False, cmd=None),
     125, ["process.rlimits[0]", "soft limit"]),
    ("config-unknown-rlimit", lambda c: c.cnlaunch(args=["--bundle", c.bundle(c.config(
        rlimits=[{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]))], rootfs=False, cmd=None),
     125, ["process.rlimits[0].type", "RLIMIT_NOPE"]),
    ("config-unknown-namespace", lambda c: c.cnlaunch(args=["--bundle", c.bundle(dict(c.config(),
        linux={"namespaces": [{"type": "mount"}, {"type": "time-travel"}]}))], rootfs=False, cmd=None),
     125, ["linux.namespaces[1].type", "time-travel"]),
    ("config-join-a-namespace", lambda c: c.cnlaunch(args=["--bundle", c.bundle(dict(c.config(),
        linux={"namespaces": [{"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}]}))],
        rootfs=False, cmd=None), 125, ["linux.namespaces[1].path"]),
    ("config-mount-relative-destination", lambda c: c.cnlaunch(args=["--bundle", c.bundle(dict(c.config(),
        mounts=[{"destination": "mnt", "type": "tmpfs", "source": "tmpfs"}]))], rootfs=False, cmd=None),
     125, ["mounts[0].destination"]),
    ("config-uid-map-size-0", lambda c: c.cnlaunch(flow="userns", args=["--bundle", c.bundle(dict(
        c.config("userns"), linux={"namespaces": [{"type": "mount"}, {"type": "user"}],
                                   "uidMappings": [{"containerID": 0, "hostID": NOBODY, "size": 0}]}), "userns")],
        rootfs=False, cmd=None), 125, ["linux.uidMappings[0].size"]),
    ("config-empty-root-path", lambda c: c.cnlaunch(args=["--bundle", c.bundle(dict(c.config(), root={"path": ""}))],
                                                    rootfs=False, cmd=None), 125, ["root.path", "empty"]),
    ("config-seccomp-unknown-action", lambda c: c.cnlaunch(args=["--bundle", c.bundle(dict(c.config(
        noNewPrivileges=True), linux={"namespaces": [{"type": "mount"}], "seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}}))],
        rootfs=False, cmd=None), 125, ["syscalls[0].action"]),
    ("bundle-without-config-json", lambda c: c.cnlaunch(args=["--bundle", c.world.user_dir("empty")], rootfs=False,
                                                        cmd=None), 125, ["config.json", "No such file"]),
    ("bundle-config-json-is-a-directory", lambda c: c.cnlaunch(args=["--bundle", _dir_config(c)], rootfs=False,
                                                               cmd=None), 125, ["config.json", "not a regular file"]),
    ("bundle-config-json-unreadable-for-the-caller", lambda c: _unreadable_config(c), 125,
     ["config.json", "Permission denied"]),
    ("bundle-symlink-loop", lambda c: c.cnlaunch(args=["--bundle", _loop(c)], rootfs=False, cmd=None),
     125, ["--bundle", "Too many levels of symbolic links"]),

    # ---------------------------------------------------------------- cnlaunch's command line
    ("option-unknown", lambda c: c.cnlaunch(args=["--bogus"]), 125, ["--bogus"]),
    ("option-missing-its-value", lambda c: c.cnlaunch(args=["--hostname"], cmd=None), 125,
     ["--hostname", "needs an argument"]),
    ("option-user-not-a-number", lambda c: c.cnlaunch(args=["--user", "nobody"]), 125, ["--user", "nobody"]),
    ("option-user-uid-4294967295", lambda c: c.cnlaunch(args=["--user", "4294967295"]), 125, ["--user"]),
    ("option-user-gid-4294967296", lambda c: c.cnlaunch(args=["--user", "65534:4294967296"]), 125, ["--user"]),
    ("option-setuid-user-root", lambda c: c.cnlaunch(args=["--user", "0:0"]), 125, ["process.user.uid"]),
    ("option-setuid-gid-root", lambda c: c.cnlaunch(args=["--user", "%d:0" % NOBODY]), 125, ["process.user.gid"]),
    ("option-rlimit-soft-above-hard", lambda c: c.cnlaunch(args=["--rlimit", "nofile=2:1"]), 125, ["--rlimit"]),
    ("option-env-without-key", lambda c: c.cnlaunch(args=["--env", "=x"]), 125, ["--env"]),
    ("option-relative-cwd", lambda c: c.cnlaunch(args=["--cwd", "tmp"]), 125, ["--cwd"]),
    ("option-unknown-flow", lambda c: c.cnlaunch(args=["--flow", "sideways"], flow_opt=False), 125, ["--flow"]),
    ("option-flow-value-with-newline", lambda c: c.cnlaunch(args=["--flow", "user\nns"], flow_opt=False), 125,
     ["--flow", "user\\nns"]),
    ("option-unknown-engine", lambda c: c.cnlaunch(args=["--engine", "warp"]), 125, ["warp"]),
    ("option-setuid-cap-add", lambda c: c.cnlaunch(args=["--cap-add", "CAP_SYS_ADMIN"]), 125,
     [("CAP_SYS_ADMIN", "capabilities")]),
    ("option-10000-container-arguments", lambda c: _ten_thousand_args(c), 0, []),
    ("option-10000-env-options", lambda c: c.cnlaunch(
        args=[a for i in range(10000) for a in ("--env", "K%d=v" % i)],
        cmd=["/bin/sh", "-c", "test $(env | grep -c ^K) = 10000"]), 0, []),
    ("caller-environment-of-1-MiB", lambda c: c.cnlaunch(flow="userns", env={"CN_BIG_%d" % i: "x" * 100000
                                                                             for i in range(10)}), 0, []),
    ("command-name-not-utf8", lambda c: c.cnlaunch(cmd=[os.fsdecode(b"\xff\xfe-cmd")]), 127,
     ["StartProcess", "command not found"]),
    ("command-not-executable", lambda c: c.cnlaunch(cmd=["/etc/passwd"]), 126, ["StartProcess", "/etc/passwd"]),

    # ---------------------------------------------------------------- rootfs states
    ("rootfs-missing", lambda c: c.cnlaunch(args=["--rootfs", c.world.dir / "no-such-rootfs"], rootfs=False), 125,
     ["no-such-rootfs", "No such file"]),
    ("rootfs-name-not-utf8", lambda c: c.cnlaunch(args=["--rootfs", str(c.world.dir / NON_UTF8)], rootfs=False),
     125, ["rootfs", "No such file"]),
    ("rootfs-is-a-file", lambda c: c.cnlaunch(args=["--rootfs", c.file("a-file", "x")], rootfs=False), 125,
     ["a-file", "Not a directory"]),
    ("rootfs-relative", lambda c: c.cnlaunch(args=["--rootfs", "rootfs-user"], rootfs=False), 125, ["--rootfs"]),
    ("rootfs-symlink-loop", lambda c: c.cnlaunch(args=["--rootfs", _loop(c)], rootfs=False), 125,
     ["Too many levels of symbolic links"]),
    ("rootfs-unreadable-for-the-caller", lambda c: c.cnlaunch(args=["--rootfs", _unreadable_dir(c)], rootfs=False),
     125, ["root-only-", "Permission denied"]),
    ("rootfs-is-the-host-root", lambda c: c.cnlaunch(flow="root", args=["--rootfs", "/"], rootfs=False), 125,
     ["host's root"]),
    ("rootfs-without-the-command", lambda c: c.cnlaunch(args=["--rootfs", c.world.user_dir("empty-rootfs")],
                                                        rootfs=False, cmd=["/bin/true"]), 127,
     ["StartProcess", "/bin/true"]),

    # ---------------------------------------------------------------- cntrace's command line
    ("cntrace-no-command", lambda c: c.cntrace(), 2, ["missing command"]),
    ("cntrace-unknown-command", lambda c: c.cntrace("launch"), 2, ["launch"]),
    ("cntrace-run-without-command", lambda c: c.cntrace("run", "-q"), 2, ["missing -- COMMAND"]),
    ("cntrace-syscalls-bogus", lambda c: c.cntrace("run", "--syscalls", "all", "--", "true"), 2, ["--syscalls"]),
    ("cntrace-linger-negative", lambda c: c.cntrace("run", "--linger", "-1", "--", "true"), 2, ["--linger"]),
    ("cntrace-ring-buffer-not-a-power-of-2", lambda c: c.cntrace("run", "--ring-buffer-size", "5000", "--", "true"),
     2, ["--ring-buffer-size", "5000"]),
    ("cntrace-output-missing-its-value", lambda c: c.cntrace("run", "-o"), 2, ["--output", "needs a value"]),
    ("cntrace-junit-without-check", lambda c: c.cntrace("run", "--junit", "x.xml", "--", "true"), 2, ["--check"]),
    # refused before anything runs: the launch's trace would be lost after it
    ("cntrace-output-in-a-missing-directory",
     lambda c: c.cntrace("run", "-o", c.world.dir / "no-such-dir" / "t.json", "--", "true"), 125,
     ["cannot trace", "no-such-dir/t.json", "No such file or directory"]),
    ("cntrace-output-is-a-directory", lambda c: c.cntrace("run", "-o", c.world.dir, "--", "true"), 125,
     ["cannot trace", "Is a directory"]),
    ("cntrace-junit-in-a-missing-directory",
     lambda c: c.cntrace("run", "--check", "--junit", c.world.dir / "no-such-dir" / "j.xml", "--", "true"), 125,
     ["cannot trace", "no-such-dir/j.xml"]),
    ("cntrace-as-unknown-user", lambda c: c.cntrace("run", "--as", "no-such-user-x", "--", "true"), 125,
     ["--as", "no-such-user-x"]),
    ("cntrace-as-uid-4294967295", lambda c: c.cntrace("run", "--as", "4294967295", "--", "true"), 125, ["--as"]),
    ("cntrace-launcher-missing", lambda c: c.cntrace("run", "--launcher", c.world.dir / "nope", "--", "true"), 125,
     ["nope"]),
    ("cntrace-launcher-without-probes", lambda c: c.cntrace("run", "--launcher", "/bin/true", "--", "true"), 125,
     ["USDT probe"]),
    ("cntrace-run-as-non-root", lambda c: c.cntrace("run", "--launcher", c.world.userns_binary, "--", "true",
                                                     caller=AS_NOBODY), 125, ["cannot trace"]),

    # ---------------------------------------------------------------- policies (cntrace check, run --check)
    ("policy-missing", lambda c: c.cntrace("run", "--check=%s" % (c.world.dir / "no-policy.json"), "--", "true"), 2,
     ["no-policy.json", "No such file"]),
    ("policy-not-json", lambda c: c.cntrace("check", "--policy", c.file("p.json", "rules: []"),
                                            c.file("t.json", c.trace_text())), 2, ["p.json", "not JSON"]),
    ("policy-empty-file", lambda c: c.cntrace("check", "--policy", c.file("p.json", ""),
                                              c.file("t.json", c.trace_text())), 2, ["p.json"]),
    ("policy-trailing-data", lambda c: c.cntrace("check", "--policy", c.file("p.json", json.dumps(POLICY) + " {}"),
                                                 c.file("t.json", c.trace_text())), 2, ["p.json", "trailing data"]),
    ("policy-nul-byte-then-more", lambda c: c.cntrace("check", "--policy", c.file(
        "p.json", json.dumps(POLICY).encode() + b"\0{}"), c.file("t.json", c.trace_text())), 2,
     ["p.json", "trailing data"]),
    ("policy-wrong-schema", lambda c: c.cntrace("check", "--policy", c.file("p.json", json.dumps(
        dict(POLICY, schema="cntrace.policy/9"))), c.file("t.json", c.trace_text())), 2, ["schema"]),
    ("policy-unknown-key", lambda c: c.cntrace("check", "--policy", c.file("p.json", json.dumps(
        {"schema": "cntrace.policy/1", "rules": [{"id": "x", "doc": "d", "asert": {"no_raise": True}}]})),
        c.file("t.json", c.trace_text())), 2, ["rules[0].asert", "unknown key"]),
    ("policy-key-with-newline", lambda c: c.cntrace("check", "--policy", c.file("p.json", json.dumps(
        {"schema": "cntrace.policy/1", "rules": [{"id": "x", "doc": "d", "assert\nx": {}}]})),
        c.file("t.json", c.trace_text())), 2, ["assert\\nx"]),
    ("policy-final-creds-bad-uid", lambda c: c.cntrace("check", "--policy", c.file("p.json", _policy(
        **{"assert": {"final_creds": {"uid": "root"}}})), c.file("t.json", c.trace_text())),
     2, ["final_creds.uid", "caller"]),
    ("policy-unknown-capability", lambda c: c.cntrace("check", "--policy", c.file("p.json", _policy(
        **{"assert": {"allowed_host_capabilities": ["CAP_NOPE"]}})), c.file("t.json", c.trace_text())),
     2, ["allowed_host_capabilities[0]", "CAP_NOPE"]),
    ("policy-unknown-syscall", lambda c: c.cntrace("check", "--policy", c.file("p.json", _policy(
        **{"assert": {"forbidden_syscalls": ["teleport"]}})), c.file("t.json", c.trace_text())),
     2, ["forbidden_syscalls[0]", "teleport"]),

    # ---------------------------------------------------------------- traces (cntrace check, report)
    ("trace-missing", lambda c: c.cntrace("check", c.world.dir / "no-trace.json"), 2, ["no-trace.json"]),
    ("trace-not-json", lambda c: c.cntrace("check", c.file("t.json", "not a trace")), 2, ["t.json", "not JSON"]),
    ("trace-trailing-data", lambda c: c.cntrace("check", c.file("t.json", c.trace_text() + "{}")), 2,
     ["t.json", "trailing data"]),
    ("trace-wrong-schema", lambda c: c.cntrace("check", c.file("t.json", '{"schema": "cntrace.trace/2"}')), 2,
     ["t.json", "schema"]),
    ("trace-truncated", lambda c: c.cntrace("check", c.file("t.json", c.trace_text()[:5000])), 2,
     ["t.json", "unexpected end of the file"]),
    ("trace-processes-not-a-list", lambda c: c.cntrace("check", c.file("t.json", _trace_with(
        c, lambda t: t.__setitem__("processes", "many")))), 2, ["processes"]),
    ("trace-cred-uid-not-a-list", lambda c: c.cntrace("check", c.file("t.json", _trace_with(
        c, lambda t: t["stages"][0]["creds"]["entry"].__setitem__("uid", 0)))), 2, ["stages[0]", "uid"]),
    ("trace-is-a-directory", lambda c: c.cntrace("check", c.world.user_dir("trace-dir")), 2,
     ["trace-dir", "Is a directory"]),
    ("trace-symlink-loop", lambda c: c.cntrace("report", _loop(c)), 125, ["Too many levels of symbolic links"]),
    ("trace-unreadable-for-the-user", lambda c: c.cntrace("check", c.file("t.json", c.trace_text(), mode=0o600),
                                                          caller=AS_NOBODY), 2, ["t.json", "Permission denied"]),
    ("trace-name-not-utf8", lambda c: c.cntrace("report", c.world.dir / NON_UTF8), 125, ["no-such-"]),
    ("check-two-traces", lambda c: c.cntrace("check", "a.json", "b.json"), 2, ["one TRACE.json"]),
]


def _dir_config(ctx):
    d = ctx.world.user_dir("dir-config")
    (d / "config.json").mkdir()
    return d


def _ten_thousand_args(ctx):
    res = ctx.cnlaunch(cmd=["/bin/sh", "-c", 'test "$#" = 10000 && echo ok', "sh"] + ["arg"] * 10000)
    assert res.out == "ok\n", "the container did not get its 10000 arguments\n%s" % res
    return res


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_gives_its_status_and_one_line(ctx, row):
    name, run, want, needles = row
    res = run(ctx)
    assert res.rc == want, "%s: want exit %d\n%s" % (name, want, res)
    lines = res.err.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if want == 0:
        assert not lines, "%s: a successful run prints nothing on stderr\n%s" % (name, res)
        return
    assert len(lines) == 1, "%s: want exactly one line on stderr, got %d\n%s" % (name, len(lines), res)
    prefix = res.prog + ": "
    assert lines[0].startswith(prefix), "%s: the line must start with %r\n%s" % (name, prefix, res)
    for needle in needles:
        alternatives = needle if isinstance(needle, tuple) else (needle,)
        assert any(a in lines[0] for a in alternatives), "%s: the line should name %s\n%s" % (
            name, " or ".join(map(repr, alternatives)), res)


def _unreadable_config(ctx):
    """config.json owned by root, mode 0600: a setuid run reads it as its caller, and is refused."""
    d = ctx.bundle(ctx.config(), owner=None)
    os.chmod(d / "config.json", 0o600)
    return ctx.cnlaunch(args=["--bundle", d], rootfs=False, cmd=None)


def test_the_table_is_at_least_forty_rows_across_every_kind():
    kinds = {r[0].split("-")[0] for r in ROWS}
    assert len(ROWS) >= 40, len(ROWS)
    for kind in ("config", "bundle", "option", "rootfs", "cntrace", "policy", "trace"):
        assert kind in kinds, kind

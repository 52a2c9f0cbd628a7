# SPDX-License-Identifier: Apache-2.0
"""Running the cntrace CLI: `cntrace run`, `cntrace exec` and `cntrace check`.

Stdlib only; nothing here imports pytest. The binary is, in order: the one
given to Cntrace(), $CNTRACE, `cntrace` on PATH.
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile

from .model import Trace, cred_diff, Creds

DEFAULT_TIMEOUT = 120
CNTRACE_FAILED = 125  # cntrace's own failure (also cnlaunch's: told apart by the trace)


class CntraceError(RuntimeError):
    """cntrace itself failed (it could not trace, or refused its input): `.line` is its one-line
    reason, `.returncode`, `.stderr` and `.command` the rest."""

    def __init__(self, line, *, command=None, returncode=None, stderr=""):
        self.line = line
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        msg = line
        if returncode is not None:
            msg = "cntrace failed (exit %s): %s" % (returncode, line)
        if command:
            msg += "\n$ " + " ".join(map(str, command))
        super().__init__(msg)


def find_cntrace(binary=None):
    """The cntrace binary: `binary`, else $CNTRACE, else `cntrace` on PATH (absolute path)."""
    for cand, what in ((binary, "the given path"), (os.environ.get("CNTRACE"), "$CNTRACE")):
        if cand:
            if not (os.path.isfile(cand) and os.access(cand, os.X_OK)):
                raise CntraceError("no executable cntrace at %s (%s)" % (cand, what))
            return os.path.abspath(cand)
    found = shutil.which("cntrace")
    if not found:
        raise CntraceError("no cntrace binary: set CNTRACE, pass --cntrace PATH, or put cntrace on PATH")
    return os.path.abspath(found)


def _reason(stderr, returncode):
    """cntrace's one-line reason: its last `cntrace: ...` line, else the last line."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    own = [ln for ln in lines if ln.startswith("cntrace: ")]
    if own:
        return own[-1]
    if lines:
        return lines[-1]
    return "cntrace exited %s without a word" % returncode


def _decode(b):
    return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")


class Cntrace:
    """Runs cntrace and returns Trace objects. The `cntrace` fixture is one of these.

    trace_dir: where trace files go (kept; default: a fresh temp dir).
    timeout: seconds one cntrace invocation may take.
    """

    def __init__(self, binary=None, trace_dir=None, timeout=DEFAULT_TIMEOUT, name_hint=None):
        self.binary = find_cntrace(binary)
        self.trace_dir = str(trace_dir) if trace_dir else tempfile.mkdtemp(prefix="cntrace-traces.")
        os.makedirs(self.trace_dir, exist_ok=True)
        self.timeout = timeout
        self.traces = []           # every Trace made, in order
        self._counter = itertools.count(1)
        self._name_hint = name_hint  # callable -> a short name for the next file (the current test)

    def __repr__(self):
        return "Cntrace(%s, traces in %s)" % (self.binary, self.trace_dir)

    # -- files

    def _trace_path(self, mode):
        hint = self._name_hint() if self._name_hint else None
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", hint or mode).strip("_")[:80] or mode
        return os.path.join(self.trace_dir, "%03d-%s.json" % (next(self._counter), name))

    # -- launches

    def run(self, cmd, *, as_user=None, launcher=None, flow=None, rootfs=None, launch_args=(),
            syscalls=None, check=None, trace_args=(), cwd=None, env=None, input=None, timeout=None):
        """`cntrace run` CMD through cnlaunch; returns the Trace.

        as_user: --as (uid or name); launcher: --launcher (e.g. a setuid copy of cnlaunch);
        flow, rootfs: --flow, --rootfs; launch_args: more cnlaunch options (["--user", "0"]);
        syscalls: "counts" or "full"; trace_args: more trace options (["--linger", "1"]);
        check: True (the built-in policy) or a policy file: assert_policy() after the launch, its
        result in trace.check_result; cwd, env (added to os.environ), input (stdin), timeout.
        Raises CntraceError when cntrace itself failed; a failed launch is a Trace with its
        exit_code (125 for cnlaunch's own failure)."""
        __tracebackhide__ = True
        launch = []
        if launcher is not None:
            launch += ["--launcher", str(launcher)]
        if flow is not None:
            launch += ["--flow", str(flow)]
        if rootfs is not None:
            launch += ["--rootfs", str(rootfs)]
        launch += [str(a) for a in launch_args]
        return self._trace("run", cmd, launch, as_user=as_user, syscalls=syscalls, check=check,
                           trace_args=trace_args, cwd=cwd, env=env, input=input, timeout=timeout)

    def exec(self, argv, *, as_user=None, syscalls=None, check=None, trace_args=(), cwd=None, env=None,
             input=None, timeout=None):
        """`cntrace exec` any PROGRAM (a third-party launcher); returns the Trace."""
        __tracebackhide__ = True
        return self._trace("exec", argv, [], as_user=as_user, syscalls=syscalls, check=check,
                           trace_args=trace_args, cwd=cwd, env=env, input=input, timeout=timeout)

    def _trace(self, mode, cmd, launch, *, as_user, syscalls, check, trace_args, cwd, env, input, timeout):
        __tracebackhide__ = True
        if isinstance(cmd, (str, bytes)):
            raise TypeError("cmd is a list of arguments, not a string: %r" % (cmd,))
        cmd = [str(c) for c in cmd]
        if not cmd:
            raise ValueError("no command to %s" % mode)
        path = self._trace_path(mode)
        argv = [self.binary, mode, "-q", "-o", path]
        if as_user is not None:
            argv += ["--as", str(as_user)]
        if syscalls is not None:
            argv += ["--syscalls", str(syscalls)]
        argv += [str(a) for a in trace_args] + launch + ["--"] + cmd
        full_env = None
        if env is not None:
            full_env = dict(os.environ)
            full_env.update({str(k): str(v) for k, v in env.items()})
        timeout = self.timeout if timeout is None else timeout
        if isinstance(input, str):
            input = input.encode()
        try:
            p = subprocess.run(argv, input=input, stdin=subprocess.DEVNULL if input is None else None,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=full_env,
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise CntraceError("did not finish within %s s; stderr: %s" % (timeout, _decode(e.stderr)[-2000:]),
                               command=argv) from None
        out, err = _decode(p.stdout), _decode(p.stderr)
        trace, why = None, ""
        if os.path.exists(path):
            try:
                trace = Trace.load(path, command=argv, returncode=p.returncode, stdout=out, stderr=err,
                                   runner=self)
            except (OSError, ValueError, TypeError) as e:
                why = "%s: unreadable trace: %s" % (path, e)
        # 125 is cntrace's failure and also cnlaunch's: a trace whose launch ended 125 is the latter.
        if trace is None or (p.returncode == CNTRACE_FAILED and trace.exit_code != CNTRACE_FAILED):
            line = _reason(err, p.returncode)
            if trace is None and p.returncode != CNTRACE_FAILED:
                line = "%s (and no trace written%s)" % (line, ": " + why if why else "")
            raise CntraceError(line, command=argv, returncode=p.returncode, stderr=err)
        self.traces.append(trace)
        if check:
            trace.check_result = assert_policy(trace, None if check is True else check)
        return trace

    # -- the policy

    def check(self, trace, policy=None):
        __tracebackhide__ = True
        return check(trace, policy, cntrace=self.binary)

    def assert_policy(self, trace, policy=None):
        __tracebackhide__ = True
        return assert_policy(trace, policy, cntrace=self.binary)


# --------------------------------------------------------------------------
# cntrace check


class Violation:
    """One violation of a rule: rule (id), doc (the rule's sentence), stage, pid, role, syscall,
    message, before, after (cred objects when the evidence is a cred change)."""

    def __init__(self, raw, doc=None):
        self.raw = raw
        self.doc = doc

    def __getitem__(self, key):
        return self.raw[key]

    def get(self, key, default=None):
        return self.raw.get(key, default)

    rule = property(lambda self: self.raw.get("rule"))
    stage = property(lambda self: self.raw.get("stage"))
    pid = property(lambda self: self.raw.get("pid"))
    role = property(lambda self: self.raw.get("role"))
    syscall = property(lambda self: self.raw.get("syscall"))
    message = property(lambda self: self.raw.get("message"))
    before = property(lambda self: self.raw.get("before"))
    after = property(lambda self: self.raw.get("after"))

    def diff(self):
        """The cred diff when before and after are cred objects; else ""."""
        return cred_diff(self.before, self.after)

    def where(self):
        parts = [self.stage or "outside any stage"]
        if self.pid is not None:
            parts.append("pid %s" % self.pid)
        if self.role:
            parts.append("(%s)" % self.role)
        if self.syscall:
            parts.append("in %s" % self.syscall)
        return " ".join(parts)

    def headline(self):
        """Where and what: the message, prefixed with stage, pid, role and syscall unless the
        message already names the pid."""
        msg = self.message or "(no message)"
        if self.pid is not None and ("pid %s " % self.pid) in msg:
            if self.syscall and self.syscall not in msg:
                msg += " (in %s)" % self.syscall
            return msg
        return "%s: %s" % (self.where(), msg)

    def __str__(self):
        lines = ["%s: %s" % (self.rule, self.headline())]
        d = self.diff()
        if d:
            lines.append("    diff: %s" % d)
        elif isinstance(self.after, dict) and "uid" in self.after:
            lines.append("    creds: %s" % Creds(self.after))
        elif self.after is not None or self.before is not None:
            lines.append("    before: %s  after: %s" % (json.dumps(self.before), json.dumps(self.after)))
        return "\n".join(lines)

    __repr__ = lambda self: "Violation(%s)" % str(self).splitlines()[0]


class CheckResult:
    """The `cntrace check --format json` document (schema cntrace.check/1)."""

    def __init__(self, raw, *, trace_path=None, returncode=None):
        self.raw = raw
        self.trace_path = trace_path
        self.returncode = returncode

    def __getitem__(self, key):
        return self.raw[key]

    policy = property(lambda self: self.raw.get("policy"))
    passed = property(lambda self: bool(self.raw.get("passed")))

    @property
    def rules(self):
        return list(self.raw.get("rules") or [])

    def rule(self, rule_id):
        for r in self.rules:
            if r.get("id") == rule_id:
                return r
        raise KeyError("no rule %r in policy %s (rules: %s)" % (
            rule_id, self.policy, ", ".join(r.get("id", "?") for r in self.rules)))

    def status(self, rule_id):
        """"passed", "failed" or "not_applicable"."""
        return self.rule(rule_id).get("status")

    def ids(self, status):
        return [r.get("id") for r in self.rules if r.get("status") == status]

    @property
    def failed_rules(self):
        return self.ids("failed")

    @property
    def violations(self):
        out = []
        for r in self.rules:
            for v in r.get("violations") or []:
                v = dict(v)
                v.setdefault("rule", r.get("id"))
                out.append(Violation(v, doc=r.get("doc")))
        return out

    def report(self):
        """The violations, grouped by rule, with each rule's doc sentence."""
        viols = self.violations
        lines = ["cntrace policy %s %s: %d violation%s of %d rule%s%s" % (
            self.policy, "passed" if self.passed else "FAILED", len(viols), "" if len(viols) == 1 else "s",
            len(self.failed_rules), "" if len(self.failed_rules) == 1 else "s",
            " in trace %s" % self.trace_path if self.trace_path else "")]
        for r in self.rules:
            if r.get("status") != "failed":
                continue
            lines.append("")
            lines.append("rule %s: %s" % (r.get("id"), r.get("doc") or ""))
            rv = [v for v in viols if v.get("rule") == r.get("id")]
            if not rv:
                lines.append("  - (failed without a listed violation)")
            for v in rv:
                lines.append("  - %s" % v.headline())
                lines.extend("  " + t for t in str(v).splitlines()[1:])
        return "\n".join(lines)

    def __repr__(self):
        return "<CheckResult policy=%s passed=%s failed=%s>" % (self.policy, self.passed, self.failed_rules)


def _trace_file(trace):
    """(path, temp) for a Trace, a path or a dict."""
    if isinstance(trace, Trace):
        if trace.path and os.path.exists(trace.path):
            return trace.path, False
        raw = trace.raw
    elif isinstance(trace, dict):
        raw = trace
    else:
        return os.fspath(trace), False
    fd, path = tempfile.mkstemp(prefix="cntrace-check.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(raw, f)
    return path, True


def _binary_for(trace, cntrace):
    if cntrace is not None:
        return cntrace if isinstance(cntrace, str) else getattr(cntrace, "binary", cntrace)
    runner = getattr(trace, "runner", None)
    if runner is not None:
        return runner.binary
    return find_cntrace()


def check(trace, policy=None, *, cntrace=None, timeout=DEFAULT_TIMEOUT):
    """`cntrace check --format json [--policy POLICY] TRACE` -> CheckResult (passed or not).

    trace: a Trace, a trace dict or a path; policy: a policy file (None: the built-in policy).
    Raises CntraceError on bad input (exit 2) or when cntrace fails otherwise."""
    __tracebackhide__ = True
    binary = _binary_for(trace, cntrace)
    path, temp = _trace_file(trace)
    argv = [binary, "check", "--format", "json"]
    if policy is not None:
        argv += ["--policy", os.fspath(policy)]
    argv.append(path)
    try:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CntraceError("check did not finish within %s s" % timeout, command=argv) from None
    finally:
        if temp:
            os.unlink(path)
    out, err = _decode(p.stdout), _decode(p.stderr)
    if p.returncode not in (0, 1):
        raise CntraceError(_reason(err, p.returncode), command=argv, returncode=p.returncode, stderr=err)
    try:
        raw = json.loads(out)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise CntraceError("check --format json printed no JSON result (%s): %r" % (e, out[:500]),
                           command=argv, returncode=p.returncode, stderr=err) from None
    result = CheckResult(raw, trace_path=None if temp else path, returncode=p.returncode)
    if (p.returncode == 0) != result.passed:
        raise CntraceError("check exited %d but says passed=%s" % (p.returncode, raw.get("passed")),
                           command=argv, returncode=p.returncode, stderr=err)
    return result


def assert_policy(trace, policy=None, *, cntrace=None, timeout=DEFAULT_TIMEOUT):
    """Run the policy (default: the built-in one) over the trace. Returns the CheckResult when every
    rule holds; raises AssertionError listing each violation (rule, doc sentence, stage, pid,
    syscall, cred diff) when one does not."""
    __tracebackhide__ = True
    result = check(trace, policy, cntrace=cntrace, timeout=timeout)
    if not result.passed:
        raise AssertionError(result.report())
    return result

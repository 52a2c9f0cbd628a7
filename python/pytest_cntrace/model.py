# SPDX-License-Identifier: Apache-2.0
"""The trace model: a `cntrace.trace/1` JSON document as Python objects.

Everything here reads the fields of DESIGN.md's "Contract that outside tests
rely on" first. The tracer writes more (top-level `transitions`,
`capability_checks` and `syscalls`, `phases`, per-process creds); those are
used when present, never required, so a hand-made trace with only the contract
fields works with every helper.

Host privilege is DESIGN.md's definition, computed here from the cred fields
(never from a tracer-computed flag): any host uid (r/e/s/fs) is 0, or the
effective or permitted set is non-empty at user-namespace level 0.

Stdlib only; nothing here imports pytest.
"""

import collections
import json

TEN_STAGES = ("Config", "InitConfig", "PrepareConfig", "CreateContainer", "StartProcess",
              "PostStartProcess", "MonitorContainer", "CleanupContainer", "PostStartHost", "CleanupHost")
CAP_SETS = ("effective", "permitted", "inheritable", "bounding", "ambient")
_SET_ABBREV = {"effective": "eff", "permitted": "prm", "inheritable": "inh", "bounding": "bnd",
               "ambient": "amb"}
_ID_SLOTS = ("r", "e", "s", "fs")


class TraceLookupError(AssertionError, LookupError):
    """A lookup in a trace (a stage, a process) found nothing or more than one.

    An AssertionError, so that pytest reports it as a failed expectation about
    the launch; the message lists what the trace does hold."""


class SyscallCount(collections.namedtuple("SyscallCount", "count errors")):
    """How often a syscall was made and how often it failed; equal to the tuple (count, errors)."""
    __slots__ = ()


class _Record:
    """A view of one JSON object: attributes for the known fields, `rec["key"]` and
    `rec.get("key")` for everything the tracer writes."""

    __slots__ = ("raw",)

    def __init__(self, raw):
        self.raw = raw

    def __getitem__(self, key):
        return self.raw[key]

    def get(self, key, default=None):
        return self.raw.get(key, default)

    def __contains__(self, key):
        return key in self.raw


# --------------------------------------------------------------------------
# creds


def _short_caps(names, limit=4):
    names = list(names)
    if not names:
        return "-"
    shown = ",".join(n[4:] if n.startswith("CAP_") else n for n in names[:limit])
    return shown + ("+%d" % (len(names) - limit) if len(names) > limit else "")


class Creds(_Record):
    """One cred snapshot: host uids/gids [r, e, s, fs], the five capability sets,
    securebits, no_new_privs, seccomp and the user-namespace level (0 = host)."""

    __slots__ = ()

    @property
    def uid(self):
        return list(self.raw.get("uid") or [])

    @property
    def gid(self):
        return list(self.raw.get("gid") or [])

    @property
    def caps(self):
        caps = self.raw.get("caps") or {}
        return {s: list(caps.get(s) or []) for s in CAP_SETS}

    @property
    def effective(self):
        return self.caps["effective"]

    @property
    def permitted(self):
        return self.caps["permitted"]

    @property
    def inheritable(self):
        return self.caps["inheritable"]

    @property
    def bounding(self):
        return self.caps["bounding"]

    @property
    def ambient(self):
        return self.caps["ambient"]

    @property
    def userns_level(self):
        return self.raw.get("userns_level", 0)

    @property
    def no_new_privs(self):
        return self.raw.get("no_new_privs")

    @property
    def securebits(self):
        return self.raw.get("securebits")

    @property
    def seccomp(self):
        return self.raw.get("seccomp")

    def host_privilege_reasons(self):
        """Why this snapshot holds host privilege (DESIGN.md), as short phrases; [] when it does not."""
        reasons = []
        zero = [_ID_SLOTS[i] + "uid" for i, u in enumerate(self.uid[:4]) if u == 0]
        if zero:
            reasons.append("host %s 0" % "/".join(zero))
        if self.userns_level == 0:
            for s in ("effective", "permitted"):
                if self.caps[s]:
                    reasons.append("%s caps in the host user namespace: %s" % (s, _short_caps(self.caps[s])))
        return reasons

    @property
    def host_privileged(self):
        return bool(self.host_privilege_reasons())

    def diff(self, after):
        """What changed from self to `after`, e.g. "euid 65534->0, eff +SYS_ADMIN"; "" when nothing."""
        return cred_diff(self.raw, after.raw if isinstance(after, Creds) else after)

    def __str__(self):
        uid, gid = self.uid, self.gid
        parts = ["uid %s" % "/".join(map(str, uid)) if uid else "uid ?",
                 "gid %s" % "/".join(map(str, gid)) if gid else "gid ?"]
        caps = self.caps
        parts.append(" ".join("%s=%s" % (_SET_ABBREV[s], _short_caps(caps[s])) for s in ("effective", "permitted")))
        if caps["ambient"]:
            parts.append("amb=%s" % _short_caps(caps["ambient"]))
        parts.append("userns %s" % self.userns_level)
        if self.no_new_privs:
            parts.append("no_new_privs")
        return " ".join(parts)

    def __repr__(self):
        return "Creds(%s)" % self

    def __eq__(self, other):
        if isinstance(other, Creds):
            return self.raw == other.raw
        if isinstance(other, dict):
            return self.raw == other
        return NotImplemented

    __hash__ = None


def holds_host_privilege(creds):
    """DESIGN.md: any host uid 0, or non-empty effective/permitted at userns level 0. Takes a
    cred dict or Creds."""
    return _creds(creds).host_privileged


def _creds(c):
    if c is None or isinstance(c, Creds):
        return c
    return Creds(c)


def cred_diff(before, after):
    """A readable diff of two cred dicts: "euid 65534->0, suid 65534->0, eff +SYS_ADMIN"."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    out = []
    for key in ("uid", "gid"):
        b, a = before.get(key) or [], after.get(key) or []
        for i in range(max(len(b), len(a))):
            bv = b[i] if i < len(b) else None
            av = a[i] if i < len(a) else None
            if bv != av:
                out.append("%s%s %s->%s" % (_ID_SLOTS[i] if i < 4 else "?", key, bv, av))
    if before.get("groups") != after.get("groups") and ("groups" in before or "groups" in after):
        out.append("groups %s->%s" % (before.get("groups"), after.get("groups")))
    bc, ac = before.get("caps") or {}, after.get("caps") or {}
    for s in CAP_SETS:
        b, a = bc.get(s) or [], ac.get(s) or []
        added = [c for c in a if c not in b]
        removed = [c for c in b if c not in a]
        if added or removed:
            txt = []
            if added:
                txt.append("+" + _short_caps(added))
            if removed:
                txt.append("-" + _short_caps(removed))
            out.append("%s %s" % (_SET_ABBREV[s], " ".join(txt)))
    for key in ("securebits", "no_new_privs", "seccomp", "userns_level"):
        if before.get(key) != after.get(key) and (key in before or key in after):
            out.append("%s %s->%s" % (key, _jsonish(before.get(key)), _jsonish(after.get(key))))
    return ", ".join(out)


def _jsonish(v):
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int) and v > 9:
        return hex(v)
    return str(v)


class StageCreds(collections.namedtuple("StageCreds", "entry exit")):
    """A stage's creds at entry and at exit (Creds, or None when the tracer saw none)."""
    __slots__ = ()


class CredSnapshot(collections.namedtuple("CredSnapshot", "where pid role stage creds")):
    """One cred snapshot with where it was seen: `where` ("stage PrepareConfig exit",
    "transition setresuid after", "process start", ...), the pid, its role, the stage
    (or None outside any stage) and the Creds."""
    __slots__ = ()

    def __str__(self):
        at = "%s pid %s (%s)" % (self.stage or "outside any stage", self.pid, self.role or "?")
        reasons = self.creds.host_privilege_reasons()
        return "%s, %s: %s%s" % (at, self.where, self.creds,
                                 " [%s]" % "; ".join(reasons) if reasons else "")

    def __repr__(self):
        return "CredSnapshot(%s)" % (str(self),)


# --------------------------------------------------------------------------
# transitions, capability checks, processes


class Transition(_Record):
    """A cred change: pid, syscall, before/after Creds, and whether it is a raise."""

    __slots__ = ("stage", "role")

    def __init__(self, raw, stage=None, role=None):
        super().__init__(raw)
        self.stage = stage if stage is not None else raw.get("stage")
        self.role = role

    pid = property(lambda self: self.raw.get("pid"))
    syscall = property(lambda self: self.raw.get("syscall"))
    is_raise = property(lambda self: bool(self.raw.get("raise")))
    before = property(lambda self: _creds(self.raw.get("before")))
    after = property(lambda self: _creds(self.raw.get("after")))

    def diff(self):
        return cred_diff(self.raw.get("before"), self.raw.get("after"))

    def __str__(self):
        return "%s pid %s (%s) %s %s: %s" % (
            self.stage or "outside any stage", self.pid, self.role or "?",
            "RAISE in" if self.is_raise else "change in", self.syscall or "?", self.diff() or "no diff")

    __repr__ = lambda self: "Transition(%s)" % self


class CapabilityCheck(_Record):
    """One (aggregated) capability check: cap, granted, host_ns, syscall, count, pid."""

    __slots__ = ("stage", "role")

    def __init__(self, raw, stage=None, role=None):
        super().__init__(raw)
        self.stage = stage if stage is not None else raw.get("stage")
        self.role = role

    cap = property(lambda self: self.raw.get("cap"))
    granted = property(lambda self: bool(self.raw.get("granted")))
    host_ns = property(lambda self: bool(self.raw.get("host_ns")))
    syscall = property(lambda self: self.raw.get("syscall"))
    count = property(lambda self: self.raw.get("count", 1))
    pid = property(lambda self: self.raw.get("pid"))

    def __str__(self):
        return "%s pid %s (%s): %s %s%s x%s in %s" % (
            self.stage or "outside any stage", self.pid, self.role or "?", self.cap,
            "granted" if self.granted else "denied", " in the host" if self.host_ns else " in a userns",
            self.count, self.syscall or "-")

    __repr__ = lambda self: "CapabilityCheck(%s)" % self


class CapabilityUses(list):
    """A list of CapabilityCheck; `.names` is the set of capability names in it."""

    @property
    def names(self):
        return frozenset(c.cap for c in self)


class Process(_Record):
    """One process of the launch: pid, ppid, role, execs, exit_code."""

    __slots__ = ()

    pid = property(lambda self: self.raw.get("pid"))
    ppid = property(lambda self: self.raw.get("ppid"))
    role = property(lambda self: self.raw.get("role"))
    exit_code = property(lambda self: self.raw.get("exit_code"))
    execs = property(lambda self: list(self.raw.get("execs") or []))

    @property
    def programs(self):
        """The filenames this process executed, in order."""
        return [e.get("filename") for e in self.execs]

    def __str__(self):
        progs = self.programs
        return "pid %s ppid %s %s exit %s%s" % (self.pid, self.ppid, self.role, self.exit_code,
                                                " exec %s" % " ".join(map(str, progs)) if progs else "")

    __repr__ = lambda self: "Process(%s)" % self


# --------------------------------------------------------------------------
# stages and the trace


def _merge_syscalls(tables):
    out = {}
    for table in tables:
        for name, v in (table or {}).items():
            c, e = out.get(name, (0, 0))
            if isinstance(v, dict):
                c, e = c + v.get("count", 0), e + v.get("errors", 0)
            else:  # a bare count
                c += int(v)
            out[name] = (c, e)
    return {n: SyscallCount(*v) for n, v in sorted(out.items())}


def _filter_caps(checks, host, granted, cap, role, pid):
    out = CapabilityUses()
    for c in checks:
        if granted is not None and c.granted != granted:
            continue
        if host is not None and c.host_ns != host:
            continue
        if cap is not None and c.cap != cap:
            continue
        if role is not None and c.role != role:
            continue
        if pid is not None and c.pid != pid:
            continue
        out.append(c)
    return out


def _privileged(snapshots):
    return [s for s in snapshots if s.creds is not None and s.creds.host_privileged]


class _Helpers:
    """The helpers Trace and Stage share, over what `_transitions()` etc. return."""

    def transitions(self):
        """Every cred transition in scope."""
        return list(self._transitions())

    def raises(self):
        """The transitions with `raise: true`: privilege added (host privilege or a capability)."""
        return [t for t in self._transitions() if t.is_raise]

    def capability_checks(self):
        return CapabilityUses(self._capability_checks())

    def capabilities_used(self, host=None, granted=True, *, cap=None, role=None, pid=None):
        """Capability checks in scope: `granted` True (default: uses), False (denials) or None
        (both); `host` True (the initial user namespace), False (another one) or None (either);
        narrowed further by cap name, role or pid. `.names` of the result is the set of caps."""
        return _filter_caps(self._capability_checks(), host, granted, cap, role, pid)

    def cred_snapshots(self):
        """Every cred snapshot in scope, each with where it was seen."""
        return list(self._snapshots())

    def host_privilege(self):
        """The cred snapshots in scope that hold host privilege (DESIGN.md): [] means none did."""
        return _privileged(self._snapshots())


class Stage(_Record, _Helpers):
    """One entry of `stages[]`: a stage method run by one process (the RPC server's
    work for the master is part of the master's CreateContainer)."""

    __slots__ = ("trace",)

    def __init__(self, raw, trace):
        super().__init__(raw)
        self.trace = trace

    name = property(lambda self: self.raw.get("name"))
    pid = property(lambda self: self.raw.get("pid"))
    rc = property(lambda self: self.raw.get("rc"))
    enter_ns = property(lambda self: self.raw.get("enter_ns"))
    exit_ns = property(lambda self: self.raw.get("exit_ns"))

    @property
    def role(self):
        """The stage's role (the tracer's, else the role of its process)."""
        return self.raw.get("role") or self.trace.role_of(self.pid)

    @property
    def creds(self):
        c = self.raw.get("creds") or {}
        return StageCreds(_creds(c.get("entry")), _creds(c.get("exit")))

    @property
    def pids(self):
        """Every pid that did something in this stage: its own, the tracer's `processes` when it
        lists them, and those seen in its transitions and capability checks."""
        pids = [self.pid]
        for p in list(self.raw.get("processes") or []) + [
                x.get("pid") for x in list(self.raw.get("transitions") or []) +
                list(self.raw.get("capability_checks") or [])]:
            if p is not None and p not in pids:
                pids.append(p)
        return pids

    def processes_by_role(self, role):
        """The processes of this stage (see .pids) that have `role`."""
        return [p for p in self.trace.processes if p.pid in self.pids and p.role == role]

    def syscalls(self):
        """{name: (count, errors)} made in this stage."""
        return _merge_syscalls([self.raw.get("syscalls")])

    def _transitions(self):
        for t in self.raw.get("transitions") or []:
            yield Transition(t, stage=self.name, role=self.trace.role_of(t.get("pid")))

    def _capability_checks(self):
        for c in self.raw.get("capability_checks") or []:
            yield CapabilityCheck(c, stage=self.name, role=self.trace.role_of(c.get("pid", self.pid)))

    def _snapshots(self):
        role = self.role
        for k, c in zip(("entry", "exit"), self.creds):
            if c is not None:
                yield CredSnapshot("stage %s" % k, self.pid, role, self.name, c)
        for t in self._transitions():
            for k in ("before", "after"):
                c = getattr(t, k)
                if c is not None:
                    yield CredSnapshot("transition %s %s" % (t.syscall, k), t.pid, t.role, self.name, c)

    def __str__(self):
        return "%s pid %s (%s)" % (self.name, self.pid, self.role)

    __repr__ = lambda self: "Stage(%s)" % self


def _dedup_key_transition(t):
    if "ts_ns" in t:
        return ("ts", t.get("pid"), t.get("tid"), t.get("ts_ns"), t.get("syscall"))
    return ("json", json.dumps({k: v for k, v in t.items() if k not in ("stage", "stage_id", "phase")},
                               sort_keys=True))


def _dedup_key_check(c):
    return (c.get("pid"), c.get("cap"), c.get("granted"), c.get("host_ns"), c.get("syscall"),
            c.get("count"), c.get("first_ns"))


def _union(primary, secondaries, key):
    """primary records, then those of each secondary source not already taken (as a multiset:
    the tracer repeats stage records at the top level and in phases)."""
    out = list(primary)
    seen = collections.Counter(key(r) for r, _ in out)
    for source in secondaries:
        here = collections.Counter()
        for r, stage in source:
            k = key(r)
            here[k] += 1
            if here[k] > seen[k]:
                out.append((r, stage))
        for k, n in here.items():
            seen[k] = max(seen[k], n)
    return out


class Trace(_Helpers):
    """A `cntrace.trace/1` document. Built by the `cntrace` fixture (then `.path`, `.returncode`,
    `.stdout`, `.stderr` and `.command` describe the cntrace run), or from a dict or file:
    `Trace(json.load(f))`, `Trace.load(path)`."""

    def __init__(self, raw, *, path=None, command=None, returncode=None, stdout="", stderr="",
                 runner=None):
        if not isinstance(raw, dict):
            raise TypeError("a trace is a JSON object, got %s" % type(raw).__name__)
        self.raw = raw
        self.path = path
        self.command = command
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.runner = runner
        self.check_result = None
        self._processes = [Process(p) for p in raw.get("processes") or []]
        self._roles = {}
        for p in self._processes:
            self._roles.setdefault(p.pid, p.role)
        self._stages = [Stage(s, self) for s in raw.get("stages") or []]

    @classmethod
    def load(cls, path, **kw):
        with open(path) as f:
            return cls(json.load(f), path=str(path), **kw)

    def __getitem__(self, key):
        return self.raw[key]

    def get(self, key, default=None):
        return self.raw.get(key, default)

    # -- the launch

    @property
    def schema(self):
        return self.raw.get("schema")

    @property
    def launch(self):
        return self.raw.get("launch") or {}

    @property
    def flow(self):
        return self.launch.get("flow")

    @property
    def exit_code(self):
        return self.launch.get("exit_code")

    @property
    def caller(self):
        return self.launch.get("caller")

    @property
    def lost_events(self):
        return (self.raw.get("tracer") or {}).get("lost_events")

    @property
    def complete(self):
        """The tracer's own verdict that it saw the whole launch (True when it does not say)."""
        return (self.raw.get("tracer") or {}).get("complete", True)

    # -- processes

    @property
    def processes(self):
        return list(self._processes)

    def process(self, pid):
        __tracebackhide__ = True  # pytest: point at the test, not here
        found = [p for p in self._processes if p.pid == pid]
        if len(found) != 1:
            raise TraceLookupError("%s process with pid %r in the trace\n%s" % (
                "no" if not found else "more than one", pid, self.layout()))
        return found[0]

    def processes_by_role(self, role):
        return [p for p in self._processes if p.role == role]

    def role_of(self, pid):
        """The role of pid, or None when the trace does not list it."""
        return self._roles.get(pid)

    # -- stages

    @property
    def stages(self):
        return list(self._stages)

    def stages_named(self, name, role=None):
        """Every stage entry called `name` (of `role` when given); possibly []."""
        return [s for s in self._stages if s.name == name and (role is None or s.role == role)]

    def stage(self, name, role=None):
        """The one stage entry called `name` (of `role` when given). Raises TraceLookupError,
        listing the stages the trace has, when there is none or more than one."""
        __tracebackhide__ = True  # pytest: point at the test, not here
        if name not in TEN_STAGES:
            raise TraceLookupError("%r is not a stage name (one of %s)" % (name, ", ".join(TEN_STAGES)))
        found = self.stages_named(name, role)
        if len(found) == 1:
            return found[0]
        what = "stage %s%s" % (name, " of role %s" % role if role else "")
        if not found:
            raise TraceLookupError("no %s in the trace\n%s" % (what, self.layout()))
        raise TraceLookupError("%s is ambiguous: %d entries (%s); pass role= to pick one\n%s" % (
            what, len(found), ", ".join(str(s) for s in found), self.layout()))

    # -- across the trace

    def _transitions(self):
        primary = [(t, s.name) for s in self._stages for t in s.raw.get("transitions") or []]
        top = [(t, None) for t in self.raw.get("transitions") or []]
        phases = [(t, None) for ph in self.raw.get("phases") or [] for t in ph.get("transitions") or []]
        for raw, stage in _union(primary, [top, phases], _dedup_key_transition):
            yield Transition(raw, stage=stage, role=self.role_of(raw.get("pid")))

    def _capability_checks(self):
        primary = [(dict(c, pid=c.get("pid", s.pid)), s.name)
                   for s in self._stages for c in s.raw.get("capability_checks") or []]
        top = [(c, None) for c in self.raw.get("capability_checks") or []]
        phases = [(c, None) for ph in self.raw.get("phases") or []
                  for c in ph.get("capability_checks") or []]
        for raw, stage in _union(primary, [top, phases], _dedup_key_check):
            yield CapabilityCheck(raw, stage=stage, role=self.role_of(raw.get("pid")))

    def _snapshots(self):
        # DESIGN.md's "every cred snapshot": stages, transitions, processes, execs, phases.
        for s in self._stages:
            role = s.role
            for k, c in zip(("entry", "exit"), s.creds):
                if c is not None:
                    yield CredSnapshot("stage %s" % k, s.pid, role, s.name, c)
        for t in self._transitions():
            for k in ("before", "after"):
                c = getattr(t, k)
                if c is not None:
                    yield CredSnapshot("transition %s %s" % (t.syscall, k), t.pid, t.role, t.stage, c)
        for p in self._processes:
            for k, c in (p.get("creds") or {}).items():
                if isinstance(c, dict):
                    yield CredSnapshot("process %s" % k, p.pid, p.role, None, Creds(c))
            for e in p.execs:
                if isinstance(e.get("creds"), dict):
                    yield CredSnapshot("exec %s" % e.get("filename"), p.pid, p.role, None, Creds(e["creds"]))
        for ph in self.raw.get("phases") or []:
            pid = ph.get("pid")
            for k, c in (ph.get("creds") or {}).items():
                if isinstance(c, dict):
                    yield CredSnapshot("phase %s %s %s" % (ph.get("id"), ph.get("begins_at"), k), pid,
                                       self.role_of(pid), None, Creds(c))

    def syscalls(self):
        """{name: (count, errors)} over the whole launch: the tracer's launch-wide table when it
        writes one, else the processes' tables, else the sum of the stages'."""
        if isinstance(self.raw.get("syscalls"), dict):
            return _merge_syscalls([self.raw["syscalls"]])
        procs = [p.get("syscalls") for p in self._processes if isinstance(p.get("syscalls"), dict)]
        if procs:
            return _merge_syscalls(procs)
        return _merge_syscalls([s.raw.get("syscalls") for s in self._stages])

    # -- the policy

    def check(self, policy=None):
        """`cntrace check` on this trace; returns the CheckResult without raising on a violation."""
        __tracebackhide__ = True
        from .runner import check
        return check(self, policy)

    def assert_policy(self, policy=None):
        """`cntrace check` on this trace: AssertionError listing every violation, else the CheckResult."""
        __tracebackhide__ = True
        from .runner import assert_policy
        return assert_policy(self, policy)

    # -- reading it

    def layout(self):
        """A short picture of the launch, its processes and stages (used in error messages)."""
        lines = ["trace%s: flow %s, exit %s, %d processes, %d stages, lost events %s" % (
            " " + self.path if self.path else "", self.flow, self.exit_code, len(self._processes),
            len(self._stages), self.lost_events)]
        for p in self._processes:
            lines.append("  process %s" % p)
        for s in self._stages:
            lines.append("  stage %-17s pid %-7s %-15s rc %s" % (s.name, s.pid, s.role, s.rc))
        return "\n".join(lines)

    summary = layout

    def __repr__(self):
        return "<Trace %sflow=%s exit=%s processes=%d stages=%d>" % (
            self.path + " " if self.path else "", self.flow, self.exit_code, len(self._processes),
            len(self._stages))

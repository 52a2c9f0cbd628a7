# SPDX-License-Identifier: Apache-2.0
"""Stages for launchers no one here wrote (issue 8, part 4): `cntrace exec` of
Debian's bwrap, runc and crun.

- Built-in phase detection (no --stage): the trace's boundaries[] shows where a
  launcher made its namespaces (clone with CLONE_NEW*, unshare), joined one
  (setns), changed its root (pivot_root, chroot), and which exec started the
  payload; phases[] entries name the boundaries crossed in them and the
  payload's phase.
- `--stage NAME=BINARY:SYMBOL`: a uprobe on a function's entry starts stage NAME
  in the calling thread; syscalls, cred changes and capability checks land in
  stages[] under that name. Symbols: bwrap's own pivot_root(), runc's nsexec()
  and try_unshare() (its cgo C, exported), libc.so.6's mount() and capset() for
  the stripped crun.
- Bad --stage specs: one line, the usage status (2) for a malformed spec, the
  cannot-trace status (125) for a file or function that is not there; nothing
  runs, no uprobe stays.

Debian packages: bubblewrap, runc, crun (scripts/install-deps). crun 1.8.1
refuses hybrid cgroups: it runs in a private mount namespace without
/sys/fs/cgroup/unified (DESIGN.md), cntrace inside it.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import NOBODY
from tracer_support import CNTRACE, TIMEOUT, Traced, run_cntrace

NEW_NS = {"CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWIPC", "CLONE_NEWUTS"}
PRIVATE_MOUNTS = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                  "if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi; exec \"$@\"",
                  "sh"]


def need(program):
    path = shutil.which(program)
    assert path, "%s is not installed: scripts/install-deps installs it (Debian package %s)" % (
        program, {"bwrap": "bubblewrap"}.get(program, program))
    return os.path.realpath(path)


def traced(*args, wrap=(), cwd=None):
    """cntrace ARGS with -o a temp file, optionally inside the command wrap (crun's private mounts)."""
    fd, path = tempfile.mkstemp(prefix="cntrace-it.", suffix=".json")
    os.close(fd)
    os.unlink(path)
    args = [str(a) for a in args]
    argv = list(wrap) + [str(CNTRACE), args[0], "-o", path] + args[1:]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=cwd, timeout=TIMEOUT, check=False)
        trace = None
        if os.path.exists(path):
            with open(path) as f:
                trace = json.load(f)
        res = Traced(argv, proc, trace)
        assert res.rc == 0 and trace is not None, "the traced launch failed\n%s" % res
        assert trace["tracer"]["lost_events"] == 0, res
        return res
    finally:
        if os.path.exists(path):
            os.unlink(path)


UPROBE_MULTI_LINK = 12  # BPF_LINK_TYPE_UPROBE_MULTI: Debian's bpftool 7.1 shows it by number, without its file


def bpftool_json(*args):
    p = subprocess.run(["bpftool", "-j"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return json.loads(p.stdout or b"[]")


def uprobes_on(files):
    """The uprobes of cntrace attached to any of files now: perf-event ones (bpftool perf), and the
    uprobe-multi links of cntrace's programs (no file shown: any of them counts; the suite runs one
    cntrace at a time)."""
    perf = [e for e in bpftool_json("perf", "list") if e.get("fd_type") == "uprobe"
            and os.path.realpath(e.get("filename", "")) in files]
    multi = [link for link in bpftool_json("link", "show") if link.get("type") in (UPROBE_MULTI_LINK, "uprobe_multi")]
    names = {p["id"]: p.get("name", "") for p in bpftool_json("prog", "show")} if multi else {}
    return perf + [link for link in multi if names.get(link["prog_id"], "").startswith(("cn_uprobe", "cn_usdt"))]


def assert_no_uprobes_stay(files, within=5.0):
    """cntrace detaches its uprobes itself, or leaves them to a reaper that exits soon after it."""
    deadline = time.monotonic() + within
    while uprobes_on(files):
        assert time.monotonic() < deadline, "uprobes still attached after cntrace exited: %s" % uprobes_on(files)
        time.sleep(0.1)


def boundaries(res, kind):
    return [b for b in res.trace["boundaries"] if b["kind"] == kind]


def payload(res):
    found = [b for b in res.trace["boundaries"] if b["payload"]]
    assert len(found) == 1, "want exactly one payload exec: %s" % [
        (b["kind"], b["pid"], b["path"], b["payload"]) for b in res.trace["boundaries"]]
    assert found[0]["kind"] == "exec"
    return found[0]


def in_time_order(res):
    ts = [b["ts_ns"] for b in res.trace["boundaries"]]
    assert ts == sorted(ts), "boundaries[] is not in time order"
    assert [b["id"] for b in res.trace["boundaries"]] == list(range(len(ts)))


def phase(res, pid, begins_at=None, payload=None):
    found = [ph for ph in res.trace["phases"] if ph["pid"] == pid and (begins_at is None or ph["begins_at"] == begins_at)
             and (payload is None or ph["payload"] == payload)]
    assert found, "no phase of pid %d (begins_at %s, payload %s): %s" % (pid, begins_at, payload, [
        (ph["id"], ph["pid"], ph["begins_at"], ph["payload"]) for ph in res.trace["phases"]])
    return found


def stages(res, name):
    found = [s for s in res.stages if s["name"] == name]
    assert found, "no stage %s: %s" % (name, [(s["name"], s["pid"]) for s in res.stages])
    return found


def proc(res, pid):
    (p,) = [p for p in res.processes if p["pid"] == pid]
    return p


@pytest.fixture(scope="module")
def bundle(world):
    """An OCI bundle (runc spec: pid, net, ipc, uts and mount namespaces) of the busybox rootfs, read-only."""
    need("runc")
    d = world.dir / ("bundle-%s" % uuid.uuid4().hex[:8])
    d.mkdir()
    subprocess.run(["runc", "spec"], cwd=str(d), check=True)
    with open(d / "config.json") as f:
        config = json.load(f)
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    config["root"] = {"path": str(world.rootfs_root), "readonly": True}
    with open(d / "config.json", "w") as f:
        json.dump(config, f)
    return d


def container_id():
    return "cntrace-it-%s" % uuid.uuid4().hex[:12]


# ---------------------------------------------------------------------------
# built-in phase detection


@pytest.mark.parametrize("caller", ["root", "nobody"])
def test_bwrap_boundaries_show_its_namespaces_root_changes_and_payload(world, caller):
    """bwrap clones its sandbox into new namespaces, pivots into a tmpfs and then into the new root,
    and its pid 1 forks the payload: the boundaries say exactly that, in that order."""
    need("bwrap")
    extra = [] if caller == "root" else ["--as", NOBODY]
    res = traced("exec", *extra, "--", "bwrap", "--unshare-all", "--ro-bind", "/", "/", "true", cwd=world.dir)
    in_time_order(res)
    root = res.trace["launch"]["pid"]
    (clone,) = boundaries(res, "clone")
    assert clone["pid"] == root and clone["syscall"] in ("clone", "clone3")
    assert NEW_NS | {"CLONE_NEWUSER", "CLONE_NEWCGROUP"} <= set(clone["namespaces"]), clone["namespaces"]
    sandbox = clone["child"]
    assert proc(res, sandbox)["ppid"] == root
    pivots = boundaries(res, "pivot_root")
    assert len(pivots) == 2 and all(b["pid"] == sandbox for b in pivots), pivots
    assert [(b["path"], b["put_old"]) for b in pivots][1] == (".", "."), "bwrap's second pivot_root(\".\", \".\")"
    assert all(b["creds"]["userns_level"] == 1 for b in pivots), "pivoted inside its user namespace"
    assert not boundaries(res, "chroot") and not boundaries(res, "setns") and not boundaries(res, "unshare")
    pl = payload(res)
    assert pl["path"] == "/usr/bin/true" and proc(res, pl["pid"])["ppid"] == sandbox
    assert clone["ts_ns"] < pivots[0]["ts_ns"] < pivots[1]["ts_ns"] < pl["ts_ns"]
    assert [b["kind"] for b in res.trace["boundaries"]].count("exec") == 2, "bwrap's own exec and the payload's"
    # phases[]: the clone happened in bwrap's exec phase, the pivots in the sandbox's forked phase
    (bwrap_phase,) = phase(res, root, "exec")
    assert bwrap_phase["boundaries"] == [clone["id"]] and not bwrap_phase["payload"]
    (sandbox_phase,) = phase(res, sandbox, "fork")
    assert sandbox_phase["boundaries"] == [b["id"] for b in pivots]
    (payload_phase,) = phase(res, pl["pid"], "exec", payload=True)
    assert payload_phase["id"] == pl["phase"] and payload_phase["image"] == "/usr/bin/true"
    if caller == "nobody":
        assert all(b["creds"]["uid"] == [NOBODY] * 4 for b in res.trace["boundaries"]), "host ids stay 65534"
    assert "boundaries (phase detection" in res.err and "* pid %d" % pl["pid"] in res.err, res.err


def test_runc_boundaries_show_unshare_pivot_root_and_payload(world, bundle):
    """runc 1.1.5: runc init re-execs itself (a read-only bind of its own inode), its CHILD unshares
    the five namespaces, INIT (pid 1 of the new pid namespace) pivots and execs the payload."""
    need("runc")
    res = traced("exec", "--", "runc", "run", "--bundle", bundle, container_id(), cwd=world.dir)
    in_time_order(res)
    (uns,) = boundaries(res, "unshare")
    assert set(uns["namespaces"]) == NEW_NS, uns["namespaces"]
    assert uns["creds"]["uid"] == [0, 0, 0, 0]
    (pivot,) = boundaries(res, "pivot_root")
    assert proc(res, pivot["pid"])["ppid"] == uns["pid"], "INIT is the child of the process that unshared"
    assert not boundaries(res, "clone"), "runc makes its namespaces with unshare, not clone"
    pl = payload(res)
    assert pl["pid"] == pivot["pid"] and pl["path"] == "/bin/true"
    assert uns["ts_ns"] < pivot["ts_ns"] < pl["ts_ns"]
    reexec = [b for b in boundaries(res, "exec") if b["ts_ns"] < uns["ts_ns"]]
    assert [b["path"] for b in reexec][:2] == ["/usr/sbin/runc", "/proc/self/exe"], reexec
    (payload_phase,) = phase(res, pl["pid"], "exec", payload=True)
    assert payload_phase["image"] == "/bin/true"
    (init_phase,) = phase(res, pivot["pid"], "fork")
    assert pivot["id"] in init_phase["boundaries"]


def test_crun_boundaries_show_clone_into_namespaces_pivot_root_and_payload(world, bundle):
    """crun clones the container process straight into its namespaces; it pivots and execs."""
    need("crun")
    res = traced("exec", "--", "crun", "run", "--bundle", bundle, container_id(), wrap=PRIVATE_MOUNTS,
                 cwd=world.dir)
    in_time_order(res)
    (clone,) = boundaries(res, "clone")
    assert set(clone["namespaces"]) == NEW_NS and clone["pid"] == res.trace["launch"]["pid"]
    (pivot,) = boundaries(res, "pivot_root")
    assert pivot["pid"] == clone["child"] and pivot["path"] == pivot["put_old"] == "."
    assert not boundaries(res, "unshare")
    pl = payload(res)
    assert pl["pid"] == clone["child"] and pl["path"] == "/bin/true"
    assert clone["ts_ns"] < pivot["ts_ns"] < pl["ts_ns"]


def test_setns_chroot_unshare_are_boundaries_and_failures_are_not(world):
    """Each kind with its details: setns with nstype 0 names the namespace from the fd; a setns,
    chroot or unshare that fails crosses nothing; the payload is the exec after the last one."""
    script = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = os.open('/proc/self/ns/uts', os.O_RDONLY)\n"
        "assert libc.setns(fd, 0) == 0\n"
        "net = os.open('/proc/self/ns/net', os.O_RDONLY)\n"
        "assert libc.setns(net, 0x40000000) == 0\n"
        "assert libc.setns(net, 0x04000000) != 0  # not a uts namespace: EINVAL\n"
        "assert libc.chroot(b'/no/such/dir') != 0\n"
        "assert libc.unshare(0x200) == 0  # CLONE_FS: no namespace\n"
        "os.execv('/usr/sbin/chroot', ['chroot', '/', '/usr/bin/unshare', '-m', '--propagation', 'unchanged',\n"
        "         '/bin/sh', '-c', '/bin/true; /bin/true'])\n")
    res = traced("exec", "--", "/usr/bin/python3", "-c", script, cwd=world.dir)
    in_time_order(res)
    kinds = [b["kind"] for b in res.trace["boundaries"] if b["kind"] != "exec"]
    assert kinds == ["setns", "setns", "chroot", "unshare"], kinds
    uts, net = boundaries(res, "setns")
    assert uts["namespaces"] == ["CLONE_NEWUTS"] and uts["fd"] >= 0, "the type of the fd, nstype 0"
    assert net["namespaces"] == ["CLONE_NEWNET"]
    (ch,) = boundaries(res, "chroot")
    assert ch["path"] == "/" and ch["syscall"] == "chroot"
    (uns,) = boundaries(res, "unshare")
    assert uns["namespaces"] == ["CLONE_NEWNS"]
    pl = payload(res)
    assert pl["path"] == "/bin/sh" and pl["ts_ns"] > uns["ts_ns"]
    execs = [b["path"] for b in boundaries(res, "exec")]
    assert "/bin/true" not in execs, "what the payload runs is its own business, not a boundary: %s" % execs
    assert any(e["filename"] == "/bin/true" for p in res.processes for e in p["execs"]), "still in processes[]"


def test_a_program_that_crosses_nothing_has_no_payload(world):
    res = traced("exec", "--", "/bin/sh", "-c", "/bin/true", cwd=world.dir)
    assert [b["kind"] for b in res.trace["boundaries"]] == ["exec", "exec"]
    assert not any(b["payload"] for b in res.trace["boundaries"])
    assert not any(ph["payload"] for ph in res.trace["phases"])


# ---------------------------------------------------------------------------
# --stage NAME=BINARY:SYMBOL


def test_stage_on_bwraps_own_pivot_root_attributes_the_sandbox_setup(world):
    """bwrap exports its own pivot_root(): from its first call, the sandbox's mounts, its second
    pivot and its capability drop are stage "pivot"; bwrap's parent is not in it, and the payload
    leaves it at its exec."""
    bwrap = need("bwrap")
    res = traced("exec", "--stage", "pivot=bwrap:pivot_root", "--", "bwrap", "--unshare-all",
                 "--ro-bind", "/", "/", "true", cwd=world.dir)
    (s,) = stages(res, "pivot")  # called twice by one thread: one stage
    (clone,) = boundaries(res, "clone")
    sandbox, root = clone["child"], res.trace["launch"]["pid"]
    assert s["pid"] == sandbox and s["role"] == "other"
    assert (s["binary"], s["symbol"]) == (bwrap, "pivot_root") and s["offset"] > 0
    assert res.trace["tracer"]["user_stages"] == [
        {"name": "pivot", "binary": bwrap, "symbol": "pivot_root", "offset": s["offset"]}]
    assert s["syscalls"]["pivot_root"]["count"] == 2, "the uprobe fires before the syscall it wraps"
    assert 0 < s["syscalls"]["mount"]["count"] < proc(res, sandbox)["syscalls"]["mount"]["count"], \
        "the mounts before the first pivot_root are not in it"
    assert root not in s["processes"]
    assert any(c["cap"] == "CAP_SYS_ADMIN" and c["syscall"] == "pivot_root" and c["granted"] and not c["host_ns"]
               for c in s["capability_checks"])
    assert any(x["syscall"] == "capset" and x["pid"] == sandbox for x in s["transitions"]), "bwrap drops caps"
    assert all(b["stage"] == "pivot" for b in boundaries(res, "pivot_root"))
    pl = payload(res)
    assert pl["pid"] in s["processes"], "the payload is forked inside the stage"
    assert s["syscalls"]["exit_group"]["count"] == proc(res, sandbox)["syscalls"]["exit_group"]["count"], \
        "the payload's own syscalls after its exec are not the stage's"
    assert s["exit_ns"] is not None and not s["closed_by_exec"], "it ends when the sandbox process exits"
    assert "pivot              pid %d" % sandbox in res.err, res.err
    assert_no_uprobes_stay({bwrap})


def test_stage_on_runcs_nsexec_and_try_unshare(world, bundle):
    """runc exports its nsexec C: nsexec() runs in every runc process (a constructor), try_unshare()
    in runc:[1:CHILD]. Uprobes on /usr/sbin/runc keep firing after runc init's re-exec: runc 1.1.5
    re-execs a read-only bind mount of the same inode."""
    runc = need("runc")
    res = traced("exec", "--stage", "nsexec=runc:nsexec", "--stage", "unshare=runc:try_unshare", "--",
                 "runc", "run", "--bundle", bundle, container_id(), cwd=world.dir)
    (uns_b,) = boundaries(res, "unshare")
    (uns,) = stages(res, "unshare")
    assert uns["pid"] == uns_b["pid"] and uns_b["stage"] == "unshare" and uns["symbol"] == "try_unshare"
    assert uns["syscalls"]["unshare"]["count"] == 1
    assert any(c["cap"] == "CAP_SYS_ADMIN" and c["syscall"] == "unshare" and c["granted"] and c["host_ns"]
               for c in uns["capability_checks"]), "runc as root unshares with a host capability"
    (pivot,) = boundaries(res, "pivot_root")
    assert pivot["stage"] == "unshare", "INIT is forked in CHILD's stage"
    assert pivot["pid"] in uns["processes"]
    pl = payload(res)
    assert pl["pid"] == pivot["pid"]
    init = [p for p in res.processes if [e["filename"] for e in p["execs"]][:1] == ["/proc/self/exe"]]
    assert len(init) == 1, "one runc init"
    ns_init = [s for s in stages(res, "nsexec") if s["pid"] == init[0]["pid"]]
    assert len(ns_init) == 2 and ns_init[0]["closed_by_exec"] and not ns_init[1]["closed_by_exec"], \
        "nsexec before the re-exec, and again in the re-exec'd runc init: %s" % ns_init
    assert any(s["pid"] == res.trace["launch"]["pid"] for s in stages(res, "nsexec")), "runc run's own constructor"
    assert_no_uprobes_stay({runc})


def test_stage_on_shared_library_functions_for_stripped_crun(world, bundle):
    """crun is stripped and exports nothing of its own: stages on the libc functions it calls.
    mount() begins "mounts" in the container process, capset() ends it and begins "caps",
    which its exec of the payload closes."""
    need("crun")
    libc = "/usr/lib/%s-linux-gnu/libc.so.6" % os.uname().machine
    res = traced("exec", "--stage", "mounts=libc.so.6:mount", "--stage", "caps=libc.so.6:capset", "--",
                 "crun", "run", "--bundle", bundle, container_id(), wrap=PRIVATE_MOUNTS, cwd=world.dir)
    (clone,) = boundaries(res, "clone")
    child = clone["child"]
    (mounts,) = [s for s in stages(res, "mounts") if s["pid"] == child]
    (caps,) = stages(res, "caps")
    assert mounts["binary"] == os.path.realpath(libc) and caps["pid"] == child
    assert mounts["exit_ns"] is not None and mounts["exit_ns"] <= caps["enter_ns"], "the next stage ends it"
    assert mounts["syscalls"]["mount"]["count"] > 1 and "mount" not in caps["syscalls"]
    assert boundaries(res, "pivot_root")[0]["stage"] == "mounts"
    assert any(x["syscall"] == "capset" for x in caps["transitions"])
    assert caps["closed_by_exec"], "the payload's exec ends it"
    assert payload(res)["pid"] == child
    # the other commands read a trace with stages of its own names
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=str(world.dir)) as f:
        json.dump(res.trace, f)
        f.flush()
        rep = subprocess.run([str(CNTRACE), "report", f.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert rep.returncode == 0 and "caps " in rep.stdout.decode(), rep
        chk = subprocess.run([str(CNTRACE), "check", f.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert chk.returncode in (0, 1), "a trace with --stage stages is no bad input: %s" % chk.stderr
    assert_no_uprobes_stay({os.path.realpath(libc)})


def test_stage_inside_a_cnlaunch_stage_ends_with_it(world):
    """cntrace exec of cnlaunch: its own probes give the ten stages; a --stage entered inside one of
    them nests in it and ends at its exit, so cnlaunch's stage structure stays whole."""
    launcher = str(world.root_binary)
    res = traced("exec", "--stage", "defaults=%s:cn_config_init_default" % launcher, "--", launcher,
                 "--rootfs", world.rootfs_root, "--", "/bin/true", cwd=world.dir)
    assert res.trace["tracer"]["stage_probes"] and res.trace["tracer"]["unmatched_stage_exits"] == 0
    (d,) = stages(res, "defaults")
    (config,) = [s for s in stages(res, "Config") if s["id"] == d["parent"]]
    assert config["pid"] == d["pid"] and d["role"] == config["role"]
    assert config["enter_ns"] <= d["enter_ns"] <= d["exit_ns"] <= config["exit_ns"]
    assert all(s["exit_ns"] is not None for s in res.stages), [(s["name"], s["pid"]) for s in res.stages
                                                               if s["exit_ns"] is None]
    assert not [s for s in res.stages if s["parent"] == d["id"]], "nothing nests in it: it ended first"


# ---------------------------------------------------------------------------
# bad --stage specs


BAD_SYNTAX = [
    ("nothing", "not NAME=BINARY:SYMBOL"),
    ("x=bwrap", "not NAME=BINARY:SYMBOL"),
    ("x=bwrap:", "not NAME=BINARY:SYMBOL"),
    ("x=:pivot_root", "not NAME=BINARY:SYMBOL"),
    ("=bwrap:pivot_root", "a stage name is"),
    ("a b=bwrap:pivot_root", "a stage name is"),
    ("StartProcess=bwrap:pivot_root", "a name cntrace gives"),
    ("container=bwrap:pivot_root", "a name cntrace gives"),
]


@pytest.mark.parametrize("spec,why", BAD_SYNTAX)
def test_malformed_stage_is_a_usage_error(world, spec, why):
    marker = world.dir / ("ran-%s" % uuid.uuid4().hex[:8])
    res = run_cntrace("exec", "--stage", spec, "--", "/bin/touch", marker, cwd=str(world.dir), output=False)
    lines = res.err.splitlines()
    assert res.rc == 2 and len(lines) == 1, res
    assert lines[0].startswith("cntrace: --stage ") and why in lines[0] and spec in lines[0], res
    assert not marker.exists()


def test_stage_twice_too_many_and_in_run_are_usage_errors(world):
    res = run_cntrace("exec", "--stage", "a=bwrap:pivot_root", "--stage", "a=bwrap:warn", "--", "/bin/true",
                      output=False)
    assert res.rc == 2 and "defined twice" in res.err and len(res.err.splitlines()) == 1, res
    many = []
    for i in range(33):
        many += ["--stage", "s%d=libc.so.6:mount" % i]
    res = run_cntrace("exec", *many, "--", "/bin/true", output=False)
    assert res.rc == 2 and "at most 32 stages" in res.err and len(res.err.splitlines()) == 1, res
    res = run_cntrace("run", "--stage", "a=bwrap:pivot_root", "--", "/bin/true", output=False)
    assert res.rc == 2 and "--stage is for exec" in res.err and len(res.err.splitlines()) == 1, res


def unresolved_cases():
    crun = "crun:unshare"
    return [
        ("x=no-such-launcher-xyz:main", ["no-such-launcher-xyz", "no such program"]),
        ("x=libnope.so.9:f", ["libnope.so.9", "no such program in $PATH or library"]),
        ("x=bwrap:no_such_function", ["has no function \"no_such_function\"", "stripped"]),
        ("x=%s" % crun, ["does not define \"unshare\"", "libc.so.6", "--stage x=libc.so.6:unshare"]),
        ("x=runc:current_stage", ["\"current_stage\"", "is not a function"]),
        ("x=/etc/passwd:main", ["/etc/passwd is not an ELF file"]),
        ("x=/no/such/file:main", ["/no/such/file: No such file or directory"]),
        ("x=libc.so.6:memcpy", ["IFUNC"]),
        ("a=bwrap:pivot_root --stage b=/usr/bin/bwrap:pivot_root", ["the same function as stage a"]),
    ]


@pytest.mark.parametrize("spec,needles", unresolved_cases(), ids=[c[0] for c in unresolved_cases()])
def test_stage_that_cannot_be_found_refuses_to_trace_and_runs_nothing(world, spec, needles):
    need("bwrap"), need("crun"), need("runc")
    marker = world.dir / ("ran-%s" % uuid.uuid4().hex[:8])
    args = []
    for one in spec.split(" --stage "):
        args += ["--stage", one]
    res = run_cntrace("exec", *args, "--", "/bin/touch", marker, cwd=str(world.dir), output=False)
    lines = res.err.splitlines()
    assert res.rc == 125 and len(lines) == 1, res
    assert lines[0].startswith("cntrace: cannot trace: --stage "), res
    for n in needles:
        assert n in lines[0], "the refusal should say %r\n%s" % (n, res)
    assert not marker.exists(), "nothing may run when a stage cannot be attached"
    assert_no_uprobes_stay({need("bwrap"), need("runc")})  # (a reaper of an earlier test may still be going)

# SPDX-License-Identifier: Apache-2.0
"""What every benchmark script in bench/ shares (python3 stdlib only, run as root).

- build(): the bench build (`build-bench`, meson -Dbench=true; CNTRACE_BENCH_BUILD overrides),
  which has cntrace, cnlaunch, the in-container workloads and cntrace-floor.
- World: a fresh 0755 temp dir with a copy of the build's busybox rootfs (plus the workloads and
  tests/programs/syscall_counter in /bin), a plain and a setuid-root copy of cnlaunch, an OCI
  bundle of the same rootfs; argv builders for every way of running a command in it.
- run(): one timed run (posix_spawn + wait4: wall time, status, peak RSS, stdout); Worker runs
  commands as another user (the setuid and userns flows) without a setpriv exec in the timing.
- interleaved rounds, min/median, ratio and table helpers.

These are figures, not tests: nothing here asserts; targets are printed as met or missed.
"""
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
BUILD = os.environ.get("CNTRACE_BENCH_BUILD") or os.path.join(REPO, "build-bench")
NOBODY = 65534


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("bench: " + msg)
    sys.exit(2)


# ---- the build ----

def build():
    """Configure (once) and build the bench build; return its path."""
    if os.geteuid() != 0:
        die("run as root (BPF, namespaces, a setuid copy of cnlaunch)")
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        log("bench: meson setup %s -Dbench=true" % BUILD)
        _quiet(["meson", "setup", BUILD, "-Dbench=true"], cwd=REPO)
    elif not os.path.exists(os.path.join(BUILD, "bench", "cntrace-floor")):
        _quiet(["meson", "configure", BUILD, "-Dbench=true"], cwd=REPO)
    _quiet(["ninja", "-C", BUILD])
    for f in ("cli/cntrace", "core/cnlaunch", "bench/cntrace-floor", "bench/cnbench-run", "bench/storm", "bench/spawn", "rootfs/bin"):
        if not os.path.exists(os.path.join(BUILD, f)):
            die("%s/%s missing after the build" % (BUILD, f))
    return BUILD


def _quiet(argv, cwd=None):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout)
        die("%s failed (%d)" % (" ".join(argv), p.returncode))


# ---- the world: rootfs, launchers, bundle ----

class World:
    def __init__(self):
        build()
        self.dir = tempfile.mkdtemp(prefix="cnbench.")
        os.chmod(self.dir, 0o755)
        self.rootfs = os.path.join(self.dir, "rootfs")
        subprocess.run(["cp", "-a", os.path.join(BUILD, "rootfs"), self.rootfs], check=True)
        for prog in ("storm", "spawn"):
            shutil.copy2(os.path.join(BUILD, "bench", prog), os.path.join(self.rootfs, "bin", prog))
        counter = os.path.join(self.rootfs, "bin", "syscall_counter")
        subprocess.run(["gcc", "-O2", "-static", "-o", counter,
                        os.path.join(REPO, "tests", "programs", "syscall_counter.c")], check=True)
        self.cnlaunch = os.path.join(self.dir, "cnlaunch")
        shutil.copy2(os.path.join(BUILD, "core", "cnlaunch"), self.cnlaunch)
        os.chmod(self.cnlaunch, 0o755)
        self.cnlaunch_suid = os.path.join(self.dir, "cnlaunch-4755")
        shutil.copy2(self.cnlaunch, self.cnlaunch_suid)
        os.chown(self.cnlaunch_suid, 0, 0)
        os.chmod(self.cnlaunch_suid, 0o4755)
        self.cntrace = os.path.join(BUILD, "cli", "cntrace")
        self.floor_bin = os.path.join(BUILD, "bench", "cntrace-floor")
        self.traces = os.path.join(self.dir, "traces")
        os.mkdir(self.traces)
        self._bundle = None
        self._n = 0

    def close(self):
        if os.environ.get("CNTRACE_BENCH_KEEP"):
            log("bench: kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def trace_path(self):
        self._n += 1
        return os.path.join(self.traces, "t%d.json" % self._n)

    # argv builders
    def launch(self, cmd, flow=None, launcher=None):
        argv = [launcher or self.cnlaunch, "--rootfs", self.rootfs]
        if flow:
            argv += ["--flow", flow]
        return argv + ["--"] + list(cmd)

    def traced(self, cmd, out="/dev/null", full=False, extra=()):
        argv = [self.cntrace, "run", "-q", "-o", out, "--launcher", self.cnlaunch]
        if full:
            argv += ["--syscalls", "full"]
        return argv + list(extra) + ["--rootfs", self.rootfs, "--"] + list(cmd)

    def floor(self, cmd, full=False):
        argv = [self.floor_bin, "--usdt", self.cnlaunch]
        if full:
            argv.append("--full")
        return argv + ["--"] + self.launch(cmd)

    def bundle(self):
        """An OCI bundle of the same rootfs running /bin/true, with cnlaunch's namespaces."""
        if self._bundle:
            return self._bundle
        b = os.path.join(self.dir, "bundle")
        os.mkdir(b)
        subprocess.run(["runc", "spec"], cwd=b, check=True)
        with open(os.path.join(b, "config.json")) as f:
            c = json.load(f)
        c["process"]["args"] = ["/bin/true"]
        c["process"]["terminal"] = False
        c["root"] = {"path": self.rootfs, "readonly": False}
        c["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
        self._bundle = b
        return b


# ---- one timed run ----

class Result:
    def __init__(self, wall_ns, status, maxrss_kb, stdout):
        self.wall_ns = wall_ns
        self.status = status
        self.maxrss_kb = maxrss_kb
        self.stdout = stdout

    @property
    def ok(self):
        return self.status == 0

    def field(self, name):
        """An integer name=VALUE the workload printed (storm, spawn)."""
        m = re.search(r"\b%s=(\d+)" % re.escape(name), self.stdout)
        return int(m.group(1)) if m else None


RUNNER = os.path.join(BUILD, "bench", "cnbench-run")


def run(argv, capture=True, env=None):
    """Run argv (stdin /dev/null, stderr inherited) through cnbench-run, which times it (spawn to
    reap), and reports its status and peak RSS in KiB (of the process and the descendants it
    reaped); returns a Result with its stdout."""
    devnull = os.open(os.devnull, os.O_RDWR)
    res_r, res_w = os.pipe()
    rfd = wfd = None
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, res_w, 3)]
    if capture:
        rfd, wfd = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, wfd, 1))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, devnull, 1))
    pid = os.posix_spawn(RUNNER, [RUNNER] + list(argv), env if env is not None else os.environ,
                         file_actions=actions)
    os.close(devnull)
    os.close(res_w)
    out = b""
    if capture:
        os.close(wfd)
        chunks = []
        while True:
            b = os.read(rfd, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(rfd)
        out = b"".join(chunks)
    with os.fdopen(res_r) as f:
        line = f.read().split()
    os.waitpid(pid, 0)
    if len(line) != 3:
        return Result(0, 125, 0, out.decode(errors="replace"))
    return Result(int(line[0]), int(line[1]), int(line[2]), out.decode(errors="replace"))


class Worker:
    """A child that runs commands as another user (uid/gid, no groups): run() there with the same
    timing, so an unprivileged launch is timed without a setpriv or su exec in front of it."""

    def __init__(self, uid=NOBODY, gid=NOBODY):
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(req_w)
                os.close(res_r)
                os.setgroups([])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                env = dict(os.environ, HOME="/", USER="nobody")
                with os.fdopen(req_r) as rq, os.fdopen(res_w, "w") as rs:
                    for line in rq:
                        argv, capture = json.loads(line)
                        r = run(argv, capture=capture, env=env)
                        rs.write(json.dumps(r.__dict__) + "\n")
                        rs.flush()
            finally:
                os._exit(0)
        os.close(req_r)
        os.close(res_w)
        self.req = os.fdopen(req_w, "w")
        self.res = os.fdopen(res_r)

    def run(self, argv, capture=True):
        self.req.write(json.dumps([argv, capture]) + "\n")
        self.req.flush()
        d = json.loads(self.res.readline())
        return Result(d["wall_ns"], d["status"], d["maxrss_kb"], d["stdout"])

    def close(self):
        self.req.close()
        self.res.close()
        os.waitpid(self.pid, 0)


def checked(r, what):
    if r.status != 0:
        die("%s failed with status %d: %s" % (what, r.status, r.stdout.strip()[-300:]))
    return r


def interleaved(configs, rounds, fn, seed=1):
    """Call fn(config) `rounds` times for every config, one of each per round in a shuffled order,
    so that the machine's noise (other engineers' tests on this VM) hits every config alike.
    Returns {config: [values]}."""
    rnd = random.Random(seed)
    out = {c: [] for c in configs}
    for _ in range(rounds):
        order = list(configs)
        rnd.shuffle(order)
        for c in order:
            out[c].append(fn(c))
    return out


# ---- statistics and printing ----

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def lo(xs):
    xs = [x for x in xs if x is not None]
    return min(xs) if xs else None


def ratio(a, b):
    return a / b if a is not None and b else None


def ms(ns, digits=1):
    return "-" if ns is None else "%.*f ms" % (digits, ns / 1e6)


def x(r, digits=2):
    return "-" if r is None else "%.*fx" % (digits, r)


def mib(kb):
    return "-" if kb is None else "%.1f MiB" % (kb / 1024)


def verdict(value, target, lower_is_better=True):
    if value is None:
        return "n/a"
    return "met" if (value <= target if lower_is_better else value >= target) else "MISSED"


def table(headers, rows):
    """A markdown table."""
    cells = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def section(title, headers, rows, note=None):
    print("\n### %s\n" % title)
    print(table(headers, rows))
    if note:
        print("\n" + note)
    sys.stdout.flush()


def load_trace(path):
    with open(path) as f:
        return json.load(f)


def load_head(path):
    """The members of a trace before "syscall_log", its last (a --syscalls full log can be far larger
    than the rest: this reads only up to it, as a streaming reader would)."""
    head = b""
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'  "syscall_log": '):
                return json.loads(head.rstrip().rstrip(b",") + b"\n}")
            head += line
    return json.loads(head)


def lost(trace):
    return trace["tracer"]["lost_events"]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return "%s, %d vCPU, %.0f GiB, Linux %s" % (model, os.cpu_count(), mem_kb / 2**20, os.uname().release)


def load_avg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def main(bench_fn, argv=None):
    """Run one bench script standalone: its detailed tables, then its summary rows."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: the script's)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (what bench/run-all uses)")
    args = ap.parse_args(argv)
    with World() as w:
        rows = bench_fn(w, quick=args.quick, rounds=args.rounds)
    section("summary", SUMMARY_HEADERS, rows)


SUMMARY_HEADERS = ["figure", "cntrace", "baseline / peer", "ratio", "target", ""]

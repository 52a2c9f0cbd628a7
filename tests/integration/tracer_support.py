# SPDX-License-Identifier: Apache-2.0
"""Running cntrace from the integration suite: the binary, a traced launch in
each flow, and readers for the JSON trace (schema cntrace.trace/1)."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

from conftest import NOBODY, REPO

BUILD = Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build")
CNTRACE = BUILD / "cli" / "cntrace"
TIMEOUT = 120

TEN_STAGES = ["Config", "InitConfig", "PrepareConfig", "CreateContainer", "StartProcess",
              "PostStartProcess", "MonitorContainer", "CleanupContainer", "PostStartHost", "CleanupHost"]
# Which role runs each stage (DESIGN.md's table); Config and InitConfig run in every process.
STAGE_ROLES = {
    "Config": {"starter", "master", "stage1"},
    "InitConfig": {"starter", "master", "stage1"},
    "PrepareConfig": {"stage1"},
    "CreateContainer": {"master"},
    "StartProcess": {"stage2"},
    "PostStartProcess": {"master"},
    "MonitorContainer": {"master"},
    "CleanupContainer": {"master"},
    "PostStartHost": {"post_start_host"},
    "CleanupHost": {"cleanup_host", "stage1"},
}
ROLES = {"starter", "stage1", "stage2", "master", "rpc_server", "post_start_host", "cleanup_host",
         "container", "other"}


class Traced:
    """One cntrace invocation: exit status, output, and the JSON trace."""

    def __init__(self, argv, proc, trace):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout.decode(errors="replace")
        self.err = proc.stderr.decode(errors="replace")
        self.trace = trace

    def __str__(self):
        return "$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" % (" ".join(map(str, self.argv)), self.rc,
                                                                self.out, self.err[-6000:])

    # -- readers

    @property
    def processes(self):
        return self.trace["processes"]

    @property
    def stages(self):
        return self.trace["stages"]

    def process(self, pid):
        found = [p for p in self.processes if p["pid"] == pid]
        assert found, "no process %d in the trace\n%s" % (pid, self)
        return found[0]

    def by_role(self, role):
        return [p for p in self.processes if p["role"] == role]

    def stage(self, name):
        found = [s for s in self.stages if s["name"] == name]
        assert found, "no stage %s in the trace\n%s" % (name, self)
        return found

    def role_of(self, pid):
        return self.process(pid)["role"]

    def syscall_total(self, name, role=None):
        total = 0
        for p in self.processes:
            if role is None or p["role"] == role:
                total += p["syscalls"].get(name, {}).get("count", 0)
        return total


def run_cntrace(*args, cwd=None, timeout=TIMEOUT, env=None, output=True, caller=None):
    """cntrace ARGS...; with output, -o a temp file whose JSON becomes .trace (None when not written)."""
    fd, path = tempfile.mkstemp(prefix="cntrace-it.", suffix=".json")
    os.close(fd)
    os.unlink(path)
    argv = [str(CNTRACE)]
    args = [str(a) for a in args]
    if output:
        # trace options go right after the subcommand
        argv += [args[0], "-o", path] + args[1:]
    else:
        argv += args
    if caller is not None:
        argv = ["setpriv", "--reuid=%d" % caller, "--regid=%d" % caller, "--clear-groups", "--"] + argv
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=cwd, timeout=timeout, env=env, check=False)
        trace = None
        if os.path.exists(path):
            with open(path) as f:
                trace = json.load(f)
        return Traced(argv, proc, trace)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def flow_launch_args(world, flow, rootfs=None):
    """cntrace run options that launch through the suite's copy of cnlaunch for flow."""
    binary = {"setuid": world.setuid_binary, "userns": world.userns_binary, "root": world.root_binary}[flow]
    rootfs = rootfs or (world.rootfs_root if flow == "root" else world.rootfs_user)
    args = ["--launcher", binary, "--flow", flow, "--rootfs", rootfs]
    if flow != "root":
        args = ["--as", str(NOBODY)] + args
    return args


def traced_run(world, flow, cmd, *extra, rootfs=None):
    res = run_cntrace("run", *extra, *flow_launch_args(world, flow, rootfs), "--", *cmd, cwd=str(world.dir))
    assert res.trace is not None, "cntrace wrote no trace\n%s" % res
    return res


def host_privileged(creds):
    return any(u == 0 for u in creds["uid"]) or (
        creds["userns_level"] == 0 and (creds["caps"]["effective"] or creds["caps"]["permitted"]))


def all_creds(trace):
    """Every cred snapshot in a trace, with where it was seen."""
    for p in trace["processes"]:
        for k, c in p["creds"].items():
            if c:
                yield "process %d %s" % (p["pid"], k), c
        for e in p["execs"]:
            yield "process %d exec %s" % (p["pid"], e["filename"]), e["creds"]
    for s in trace["stages"]:
        for k, c in s["creds"].items():
            if c:
                yield "stage %s pid %d %s" % (s["name"], s["pid"], k), c
    for x in trace["transitions"]:
        for k in ("before", "after"):
            if x[k]:
                yield "transition %s pid %d %s" % (x["syscall"], x["pid"], k), x[k]

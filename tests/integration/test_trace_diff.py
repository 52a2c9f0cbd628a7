# SPDX-License-Identifier: Apache-2.0
"""`cntrace diff A B` on real traces: the same launch twice gains nothing (exit 0);
a launch with an added capability, or the breach launcher's engines that keep or
regain privilege on purpose, gain something (exit 1), and the diff names the stage
and what was gained. The other way round, nothing was gained (exit 0)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import NOBODY, REPO

BREACH = os.environ.get("CNLAUNCH_BREACH") or str(REPO / "build" / "tests" / "breach" / "cnlaunch-breach")
COMMAND = ["/bin/sh", "-c", "echo hi; ls / >/dev/null"]


def _diff(cntrace, a, b, *args):
    p = subprocess.run([cntrace.binary, "diff", *args, a.path if hasattr(a, "path") else str(a),
                        b.path if hasattr(b, "path") else str(b)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return p


def _json(cntrace, a, b):
    p = _diff(cntrace, a, b, "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "cntrace.diff/1"
    assert doc["gained"] == (p.returncode == 1)
    return doc


def _has_sys_admin(creds):
    return "CAP_SYS_ADMIN" in creds["caps"]["effective"]


def _change(doc, stage, role=None):
    found = [c for c in doc["changes"] if c["stage"] == stage and (role is None or c["role"] == role)]
    assert len(found) == 1, "want one change for %s (%s): %s" % (stage, role, json.dumps(doc["changes"], indent=1))
    return found[0]


@pytest.fixture(scope="module")
def breach_setuid(world):
    copy = world.dir / "cnlaunch-breach-diff"
    shutil.copyfile(BREACH, copy)
    os.chown(copy, 0, 0)
    os.chmod(copy, 0o4755)
    return copy


def _setuid(cntrace, world, launcher, *launch_args):
    t = cntrace.run(COMMAND, as_user=NOBODY, launcher=launcher, flow="setuid", rootfs=world.rootfs_user,
                    launch_args=list(launch_args))
    assert t.exit_code == 0, t.stderr
    return t


@pytest.mark.parametrize("flow", ["root", "setuid", "userns"])
def test_the_same_launch_twice_gains_nothing(cntrace, world, flow):
    def launch():
        if flow == "root":
            return cntrace.run(COMMAND, launcher=world.root_binary, flow="root", rootfs=world.rootfs_root)
        return cntrace.run(COMMAND, as_user=NOBODY, flow=flow, rootfs=world.rootfs_user,
                           launcher=world.setuid_binary if flow == "setuid" else world.userns_binary)
    a, b = launch(), launch()
    p = _diff(cntrace, a, b)
    assert p.returncode == 0, "%s%s" % (p.stdout, p.stderr)
    assert p.stdout.splitlines()[-1] == "cntrace: diff: %s gained nothing that %s did not have" % (b.path, a.path)
    doc = _json(cntrace, a, b)
    assert not doc["gained"] and all(not c["gained"] for c in doc["changes"])
    assert doc["by"] == "stage" and doc["units_compared"] >= 11  # ten stages (Config twice), container


def test_an_added_capability_is_a_gain_in_startprocess(cntrace, world):
    def launch(*extra):
        return cntrace.run(COMMAND, launcher=world.root_binary, flow="root", rootfs=world.rootfs_root,
                           launch_args=list(extra))
    a, b = launch(), launch("--cap-add", "CAP_SYS_ADMIN")
    p = _diff(cntrace, a, b)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "StartProcess (stage2): GAINED" in p.stdout
    assert "+CAP_SYS_ADMIN" in p.stdout
    doc = _json(cntrace, a, b)
    start = _change(doc, "StartProcess", "stage2")
    assert start["gained"]
    assert {"inheritable +CAP_SYS_ADMIN", "ambient +CAP_SYS_ADMIN"} <= {r["gain"] for r in start["new_raises"]}
    assert start["final_creds"]["gained"] and "effective" in start["final_creds"]["changes"]
    assert _has_sys_admin(start["final_creds"]["b"]) and not _has_sys_admin(start["final_creds"]["a"])
    assert _change(doc, "container")["gained"]
    # the other way round B lost what A had: shown, never a gain
    back = _diff(cntrace, b, a)
    assert back.returncode == 0, back.stdout + back.stderr
    assert "final creds changed" in back.stdout


def test_breach_prepareconfig_regain_is_named(cntrace, world, breach_setuid):
    a = _setuid(cntrace, world, breach_setuid)
    b = _setuid(cntrace, world, breach_setuid, "--engine", "breach-prepareconfig-regain")
    p = _diff(cntrace, a, b)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "PrepareConfig (stage1): GAINED" in p.stdout
    assert "new raise in setresuid (host" in p.stdout and "euid 0" in p.stdout
    doc = _json(cntrace, a, b)
    prep = _change(doc, "PrepareConfig", "stage1")
    assert {"syscall": "setresuid", "gain": "euid 0", "host": True} in \
        [{k: r[k] for k in ("syscall", "gain", "host")} for r in prep["new_raises"]]
    assert "setresuid" in prep["new_syscalls"]
    # nothing else of the launch changed: only stage1's stages
    assert {c["role"] for c in doc["changes"] if c["gained"]} == {"stage1"}
    assert _diff(cntrace, b, a).returncode == 0


def test_breach_startprocess_keeps_a_capability_is_named(cntrace, world, breach_setuid):
    a = _setuid(cntrace, world, breach_setuid)
    b = _setuid(cntrace, world, breach_setuid, "--engine", "breach-startprocess-keep-cap")
    p = _diff(cntrace, a, b)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "StartProcess (stage2): GAINED" in p.stdout and "CAP_SYS_ADMIN" in p.stdout
    start = _change(_json(cntrace, a, b), "StartProcess", "stage2")
    assert start["final_creds"]["gained"]


def test_bad_input_is_one_line_exit_2(cntrace, world, tmp_path):
    good = cntrace.run(["/bin/true"], launcher=world.root_binary, flow="root", rootfs=world.rootfs_root)
    (tmp_path / "other.json").write_text('{"schema": "other/1"}')
    (tmp_path / "broken.json").write_text('{"schema": "cntrace.trace/1", "launch": 3}')
    cases = [
        ((good.path, tmp_path / "missing.json"), "missing.json"),
        ((tmp_path / "other.json", good.path), "not a cntrace trace"),
        ((good.path, tmp_path / "broken.json"), "broken.json"),
        ((good.path,), "give two traces"),
        ((good.path, good.path, good.path), "give two traces"),
        (("--format", "xml", good.path, good.path), "--format"),
        (("--nope", good.path, good.path), "--nope"),
    ]
    for args, needle in cases:
        p = subprocess.run([cntrace.binary, "diff", *map(str, args)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        lines = p.stderr.splitlines()
        assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("cntrace: "), (args, p.stderr)
        assert needle in lines[0], (args, lines[0])
        assert p.stdout == ""

# SPDX-License-Identifier: Apache-2.0
"""cntrace refuses what it cannot trace: exit 125 and one line `cntrace: ...`,
and never runs the launch untraced; `cntrace report` summarises a saved trace
and fails with one line on a file that is not one.
"""

import os
import shutil
import uuid

import pytest

from conftest import NOBODY, Flow
from trace_fixtures import TEN_STAGES, one_line_error
from trace_fixtures import flow_traces, tracer  # noqa: F401 (pytest fixtures)

AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]


def marker_cmd(flow):
    """A command that leaves a file in the rootfs if it ever runs, and that file's host path."""
    name = "ran-untraced.%s" % uuid.uuid4().hex[:8]
    return ["/bin/sh", "-c", ": > /%s" % name], flow.rootfs / name


def test_run_as_non_root_refuses_with_one_line(tracer, world):
    """65534 cannot load BPF: cntrace must say so and must not launch anyway."""
    copy = world.dir / ("cntrace-%s" % uuid.uuid4().hex[:8])
    shutil.copyfile(tracer.path, copy)
    os.chmod(copy, 0o755)
    flow = Flow("userns", world, None)
    cmd, marker = marker_cmd(flow)
    try:
        res = tracer.invoke([copy, "run", "--launcher", flow.binary, "--flow", "userns", "--rootfs", flow.rootfs,
                             "--"] + cmd, caller=AS_NOBODY)
        assert res.rc == 125, "cntrace run by a non-root user must exit 125\n%s" % res
        one_line_error(res)
        assert not marker.exists(), "the launch ran untraced (it created %s)\n%s" % (marker, res)
    finally:
        copy.unlink()
        if marker.exists():
            marker.unlink()


def test_run_with_missing_launcher_refuses_with_one_line(tracer, world):
    missing = world.dir / "no-such-cnlaunch"
    res = tracer.invoke([tracer.path, "run", "--launcher", missing, "--flow", "root", "--rootfs",
                         world.rootfs_root, "--", "/bin/true"])
    assert res.rc == 125, "a missing --launcher must exit 125\n%s" % res
    line = one_line_error(res)
    assert str(missing) in line or missing.name in line, "the error should name the launcher\n%s" % res


def test_run_as_unknown_user_refuses_with_one_line(tracer, world):
    flow = Flow("userns", world, None)
    cmd, marker = marker_cmd(flow)
    try:
        res = tracer.invoke([tracer.path, "run", "--as", "no-such-user-cntrace", "--launcher", flow.binary,
                             "--flow", "userns", "--rootfs", flow.rootfs, "--"] + cmd)
        assert res.rc == 125, "--as an unknown user must exit 125\n%s" % res
        one_line_error(res)
        assert not marker.exists(), "the launch ran anyway (it created %s)\n%s" % (marker, res)
    finally:
        if marker.exists():
            marker.unlink()


def test_report_summarises_a_saved_trace(tracer, flow_traces):
    saved = flow_traces["root"].trace_file
    res = tracer.report(saved)
    assert res.rc == 0, "cntrace report of a trace cntrace wrote failed\n%s" % res
    text = res.out + res.err
    missing = [s for s in TEN_STAGES if s not in text]
    assert not missing, "the summary does not mention stages %s\n%s" % (missing, res)


@pytest.mark.parametrize("kind", ["not-json", "wrong-schema", "truncated", "missing"])
def test_report_of_a_malformed_trace_fails_with_one_line(tracer, flow_traces, kind):
    path = tracer.out_dir / ("malformed-%s.json" % kind)
    if kind == "not-json":
        path.write_text("this is not a trace\n")
    elif kind == "wrong-schema":
        path.write_text('{"schema": "something.else/9", "stages": 3}\n')
    elif kind == "truncated":
        text = flow_traces["root"].trace_file.read_text()
        path.write_text(text[:len(text) // 2])
    res = tracer.report(path)
    assert res.rc != 0, "cntrace report of a %s file must fail\n%s" % (kind, res)
    assert res.rc == 125, "cntrace itself failed: the contract's status for that is 125\n%s" % res
    line = one_line_error(res)
    assert path.name in line, "the error should name the file\n%s" % res

# SPDX-License-Identifier: Apache-2.0
"""The pytest side: the `cntrace` fixture, its options, and the trace files of a
failed test in its report.

Load it with `pytest_plugins = ["pytest_cntrace"]` in the top-level conftest.py,
or `pytest -p pytest_cntrace`, with the directory that holds pytest_cntrace/ on
PYTHONPATH (an installed copy needs neither).
"""

import os

import pytest

from .runner import Cntrace, CntraceError, find_cntrace


class _State:
    """Per-session state kept on the config object."""

    def __init__(self):
        self.runner = None
        self.current = None  # nodeid of the running test
        self.first = 0       # len(runner.traces) when it started

    def name_hint(self):
        if not self.current:
            return None
        return self.current.rpartition("::")[2] or os.path.basename(self.current)


def _state(config):
    st = getattr(config, "_cntrace_state", None)
    if st is None:
        st = _State()
        config._cntrace_state = st
    return st


def pytest_addoption(parser):
    group = parser.getgroup("cntrace", "cntrace: privilege traces of container launches")
    group.addoption("--cntrace", dest="cntrace_binary", metavar="PATH", default=None,
                    help="the cntrace binary (default: $CNTRACE, else cntrace on PATH)")
    group.addoption("--cntrace-traces", dest="cntrace_traces", metavar="DIR", default=None,
                    help="write every trace file into DIR and keep it (default: pytest's temp dir)")
    group.addoption("--cntrace-timeout", dest="cntrace_timeout", metavar="SEC", type=float, default=None,
                    help="seconds one cntrace invocation may take (default 120)")


def pytest_report_header(config):
    try:
        return "cntrace: %s" % find_cntrace(config.getoption("cntrace_binary"))
    except CntraceError:
        return None


@pytest.fixture(scope="session")
def cntrace(request, tmp_path_factory):
    """A session-wide Cntrace runner: cntrace.run(cmd, ...) and cntrace.exec(argv, ...) return Trace
    objects; trace files are kept (pytest's temp dir, or --cntrace-traces DIR)."""
    config = request.config
    st = _state(config)
    trace_dir = config.getoption("cntrace_traces") or tmp_path_factory.mktemp("cntrace")
    kw = {}
    if config.getoption("cntrace_timeout"):
        kw["timeout"] = config.getoption("cntrace_timeout")
    try:
        runner = Cntrace(config.getoption("cntrace_binary"), trace_dir=trace_dir, name_hint=st.name_hint, **kw)
    except CntraceError as e:
        pytest.fail("cntrace fixture: %s" % e, pytrace=False)
    st.runner = runner
    return runner


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    st = _state(item.config)
    st.current = item.nodeid
    st.first = len(st.runner.traces) if st.runner else 0
    yield
    st.current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    st = _state(item.config)
    if not rep.failed or st.runner is None:
        return
    made = st.runner.traces[st.first:]
    if made:
        rep.sections.append(("cntrace traces", "\n".join(repr(t) for t in made)))

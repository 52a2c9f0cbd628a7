# SPDX-License-Identifier: Apache-2.0
"""pytest_cntrace: assert what a container launch does with privilege, stage by stage.

A pytest plugin over the cntrace CLI (stdlib only):

    # conftest.py (top level)
    pytest_plugins = ["pytest_cntrace"]

    # test_launch.py
    def test_prepareconfig_holds_nothing(cntrace):
        trace = cntrace.run(["id"], as_user=65534, launcher="/usr/local/bin/cnlaunch")
        assert trace.stage("PrepareConfig").host_privilege() == []
        trace.assert_policy()

The model (Trace, Stage, ...) and the runner (Cntrace, assert_policy) work without
pytest too. See README.md, "Testing your launcher with pytest".

(PYTEST_DONT_REWRITE: the plugin asserts nothing itself, and a test module may
import it before pytest registers it.)
"""

from .model import (CAP_SETS, TEN_STAGES, CapabilityCheck, CapabilityUses, Creds, CredSnapshot, Process, Stage,
                    StageCreds, SyscallCount, Trace, TraceLookupError, Transition, cred_diff,
                    holds_host_privilege)
from .runner import (CheckResult, Cntrace, CntraceError, Violation, assert_policy, check, find_cntrace)

__version__ = "0.1.0"

__all__ = [
    "CAP_SETS", "TEN_STAGES", "CapabilityCheck", "CapabilityUses", "CheckResult", "Cntrace", "CntraceError",
    "CredSnapshot", "Creds", "Process", "Stage", "StageCreds", "SyscallCount", "Trace", "TraceLookupError",
    "Transition", "Violation", "assert_policy", "check", "cred_diff", "find_cntrace", "holds_host_privilege",
    "load_trace",
]


def load_trace(path):
    """A Trace from a JSON trace file."""
    return Trace.load(path)


try:
    import pytest  # noqa: F401
except ImportError:  # the library without the plugin
    pass
else:
    # pytest finds hooks and fixtures as attributes of the plugin module (this one).
    from .plugin import (cntrace, pytest_addoption, pytest_report_header,  # noqa: F401
                         pytest_runtest_makereport, pytest_runtest_protocol)

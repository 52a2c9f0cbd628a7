"""The trusted system configuration (/etc/cnlaunch.conf): a setuid run reads it
from disk and trusts it only when root owns it and only root can write it.

The machine's own file is never touched: cnlaunch-breach (the test-only build)
reads the same parser's input from a file in its build directory instead."""
import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO, Flow, Status

BREACH = Path(os.environ.get("CNLAUNCH_BREACH") or REPO / "build" / "tests" / "breach" / "cnlaunch-breach")
SYSCONF = Path(os.environ.get("CNLAUNCH_BREACH_SYSCONF") or BREACH.parent / "cnlaunch.conf")


class BreachFlow(Flow):
    """A flow run through a copy of cnlaunch-breach (setuid for the setuid flow)."""

    def __init__(self, name, world, leftovers):
        super().__init__(name, world, leftovers)
        self.binary = world.dir / ("cnlaunch-breach-conf-" + name)
        if not self.binary.exists():
            shutil.copyfile(BREACH, self.binary)
            os.chown(self.binary, 0, 0)
            os.chmod(self.binary, 0o4755 if name == "setuid" else 0o755)


@pytest.fixture
def setuid(world, leftovers):
    return BreachFlow("setuid", world, leftovers)


@pytest.fixture
def userns(world, leftovers):
    return BreachFlow("userns", world, leftovers)


@pytest.fixture
def sysconf():
    """Write the test build's system configuration for one test; remove it after."""
    saved = SYSCONF.read_bytes() if SYSCONF.exists() else None

    def write(text, mode=0o644, uid=0):
        SYSCONF.write_text(text)
        os.chmod(SYSCONF, mode)
        os.chown(SYSCONF, uid, 0)

    yield write
    if saved is None:
        SYSCONF.unlink(missing_ok=True)
    else:
        SYSCONF.write_bytes(saved)


def test_setuid_capabilities_are_granted_only_as_the_administrator_allows(setuid, sysconf):
    setuid.run("--cap-add", "CAP_NET_RAW", cmd=["true"]).refused("CAP_NET_RAW", "/etc/cnlaunch.conf")
    sysconf("setuid capabilities = CAP_NET_RAW\n")
    st = Status.parse(setuid.run("--cap-add", "CAP_NET_RAW", cmd=["cat", "/proc/self/status"]).ok())
    assert st.caps("CapEff") == {"CAP_NET_RAW"} and st.caps("CapAmb") == {"CAP_NET_RAW"}
    setuid.run("--cap-add", "CAP_SYS_ADMIN", cmd=["true"]).refused("CAP_SYS_ADMIN")


@pytest.mark.parametrize("mode,uid", [(0o666, 0), (0o664, 0), (0o644, 65534)])
def test_setuid_ignores_no_configuration_it_cannot_trust(setuid, sysconf, mode, uid):
    """Writable by others, by the group, or owned by someone else: refused, not silently skipped."""
    sysconf("setuid capabilities = CAP_SYS_ADMIN\n", mode=mode, uid=uid)
    setuid.run("--cap-add", "CAP_SYS_ADMIN", cmd=["true"]).refused("not trusted")


def test_setuid_runs_can_be_switched_off(setuid, userns, sysconf):
    sysconf("allow setuid = no\n")
    setuid.run(cmd=["true"]).refused("setuid runs are disabled")
    userns.run(cmd=["true"]).ok()  # nothing privileged there: the file does not apply


def test_malformed_system_configuration_names_file_and_line(setuid, sysconf):
    sysconf("allow setuid = yes\nsetuid capabilities = CAP_NOPE\n")
    setuid.run(cmd=["true"]).refused("%s:2" % SYSCONF, "CAP_NOPE")

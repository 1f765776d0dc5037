"""The machine's real libvirtd (qemu:///system), started on demand for the real test tier.

`ensure_libvirtd()` runs scripts/start-libvirtd.sh (idempotent: starts virtlogd and libvirtd
without systemd when they are not running, waits until qemu:///system answers) and returns a
factory that opens a new connection each call. `libvirt_system` is the session-scoped pytest
fixture around it; test modules pull it in with

    from tests.support.libvirtd import libvirt_system  # noqa: F401

Missing packages or a daemon that will not start FAIL the test with what to install; the real
tier never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

try:
    import libvirt
except ImportError:  # reported as a test failure by ensure_libvirtd, not as a collection error
    libvirt = None

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SCRIPT = REPO_ROOT / "scripts" / "start-libvirtd.sh"
SYSTEM_URI = "qemu:///system"
INSTALL_HINT = (
    "apt-get install -y libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base (or run .ci/run)"
)
# The first start probes QEMU's capabilities (~8 s here); the script itself waits up to 90 s.
_START_TIMEOUT_SECONDS = 150
_REQUIRED_BINARIES = ("libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "dnsmasq")


class LibvirtdUnavailableError(RuntimeError):
    """libvirt is not installed, or its daemons did not start."""


def missing_binaries() -> list[str]:
    """The libvirt/QEMU programs that are not installed (libvirtd lives in /usr/sbin)."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [name for name in _REQUIRED_BINARIES if shutil.which(name, path=search_path) is None]


def _quiet_libvirt_errors() -> None:
    # libvirt prints every error to stderr as well as raising it; tests that expect a lookup to
    # fail would litter the output.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def ensure_libvirtd(uri: str = SYSTEM_URI) -> Callable[[], libvirt.virConnect]:
    """Start virtlogd + libvirtd if needed; return a factory of connections to `uri`."""
    if libvirt is None:
        raise LibvirtdUnavailableError(
            "libvirt-python is not importable: run scripts/setup-venv.sh (needs libvirt-dev pkg-config gcc)"
        )
    missing = missing_binaries()
    if missing:
        raise LibvirtdUnavailableError(f"missing {', '.join(missing)}: {INSTALL_HINT}")
    try:
        result = subprocess.run(
            [str(START_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LibvirtdUnavailableError(f"{START_SCRIPT} hung for {_START_TIMEOUT_SECONDS}s") from exc
    if result.returncode != 0:
        raise LibvirtdUnavailableError(
            f"{START_SCRIPT} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    _quiet_libvirt_errors()

    def connect() -> libvirt.virConnect:
        return libvirt.open(uri)

    return connect


@pytest.fixture(scope="session")
def libvirt_system() -> Callable[[], libvirt.virConnect]:
    """Factory of connections to the started qemu:///system daemon."""
    try:
        return ensure_libvirtd()
    except LibvirtdUnavailableError as exc:
        pytest.fail(f"real libvirtd unavailable: {exc}", pytrace=False)

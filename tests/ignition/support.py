"""Helpers for the Ignition tests: validated stacks, OKD fixture configs, and the real ignition-validate."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from ignition.render import OkdConfigs
from infra.spec.layering import parse_engine_value
from infra.spec.load import LoadedStack, load_spec
from tests.harness import PROJECT_DIR, stack_config

OKD_FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "okd"
SSH_KEYS = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEAFtestkeyforunitteststhatisnotreal0000 eaf-test",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCtestkeyforunitteststhatisnotreal0001 eaf-test-2",
)


@cache
def loaded_stack(stack: str, overrides_json: str | None = None) -> LoadedStack:
    """A stack validated by load_spec with the config the engine would hand the program (tests.harness)."""
    import json

    overrides = json.loads(overrides_json) if overrides_json else None
    config, _ = stack_config(stack, overrides)
    own = {key.split(":", 1)[1]: parse_engine_value(value) for key, value in config.items()}
    return load_spec(stack, own, PROJECT_DIR)


@cache
def okd_fixture_configs() -> OkdConfigs:
    """The fixture stand-ins for openshift-install's output (tests/fixtures/okd/README.md)."""
    return OkdConfigs(
        master_pointer=(OKD_FIXTURES / "master.ign").read_text(encoding="utf-8"),
        worker_pointer=(OKD_FIXTURES / "worker.ign").read_text(encoding="utf-8"),
        bootstrap=(OKD_FIXTURES / "bootstrap.ign").read_text(encoding="utf-8"),
    )


def install_off_configs(loaded: LoadedStack) -> OkdConfigs:
    """What the nodes get when the install is off (infra.okd.prepare_install): MCS pointers, no bootstrap.ign."""
    from infra.okd.pointers import mcs_pointer

    return OkdConfigs(mcs_pointer(loaded.plan.domain, "master"), mcs_pointer(loaded.plan.domain, "worker"), None)


def ignition_validate(path: Path) -> subprocess.CompletedProcess:
    """Run the real validator (Debian package `ignition`). Missing tool: a failure that says how to get it."""
    tool = shutil.which("ignition-validate")
    if tool is None:
        pytest.fail("ignition-validate is missing: apt-get install ignition (Debian's package, spec 3.0-3.3)")
    return subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60, check=False)

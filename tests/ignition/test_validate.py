"""Every config the stacks produce passes the real ignition-validate (Debian's `ignition` package)."""

from __future__ import annotations

import pytest

from ignition.render import render_stack
from infra.stages import ignition_input
from tests.harness import STACKS
from tests.ignition.decode import Decoded
from tests.ignition.support import SSH_KEYS, ignition_validate, install_off_configs, loaded_stack, okd_fixture_configs

pytestmark = pytest.mark.real


def _failures(configs: dict[str, str], tmp_path) -> list[str]:
    failures = []
    for name, text in configs.items():
        path = tmp_path / f"{name}.ign"
        path.write_text(text, encoding="utf-8")
        result = ignition_validate(path)
        # Warnings count too: they mean something in the config would be ignored at boot.
        if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
            failures.append(f"{name}: exit {result.returncode}: {(result.stdout + result.stderr).strip()}")
    return failures


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_config_passes_ignition_validate_with_okd_assets(stack, tmp_path):
    configs = render_stack(ignition_input(loaded_stack(stack)), okd_fixture_configs(), SSH_KEYS)
    failures = _failures(configs, tmp_path)
    assert not failures, f"stack {stack}: ignition-validate refused:\n" + "\n".join(failures)


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_config_passes_ignition_validate_with_install_off(stack, tmp_path):
    loaded = loaded_stack(stack)
    configs = render_stack(ignition_input(loaded), install_off_configs(loaded), SSH_KEYS)
    failures = _failures(configs, tmp_path)
    assert not failures, f"stack {stack}: ignition-validate refused:\n" + "\n".join(failures)


def test_merged_pointer_inside_each_config_passes_ignition_validate(tmp_path):
    configs = render_stack(ignition_input(loaded_stack("dev")), okd_fixture_configs(), SSH_KEYS)
    inner = {f"{name}-merged-{i}": text for name in ("ctrl-0", "worker-0", "gpu-0")
             for i, text in enumerate(Decoded.of(configs[name]).merged_configs())}
    assert len(inner) == 3, f"dev: expected one merged pointer per node, got {sorted(inner)}"
    failures = _failures(inner, tmp_path)
    assert not failures, "dev: embedded pointer configs refused:\n" + "\n".join(failures)


def test_ignition_validate_refuses_a_config_that_writes_one_path_twice(tmp_path):
    """The validator is real and strict: the same check that passes our configs fails a broken one."""
    broken = ('{"ignition":{"version":"3.2.0"},"storage":{"files":['
              '{"path":"/etc/hostname","contents":{"source":"data:,a"}},'
              '{"path":"/etc/hostname","contents":{"source":"data:,b"}}]}}')
    path = tmp_path / "broken.ign"
    path.write_text(broken, encoding="utf-8")
    result = ignition_validate(path)
    assert result.returncode != 0, f"ignition-validate accepted a duplicate path: {result.stdout}{result.stderr}"

"""The Automation API path (the migration's `up` of the spare) gives each stack its own passphrase, as
`python -m infra up` does."""

from __future__ import annotations

import pytest

from infra.ops.checkpoints import CheckpointStore
from infra.ops.stack_ops import AutomationStackOps
from infra.paths import PROJECT_DIR


def _ops(tmp_path) -> AutomationStackOps:
    return AutomationStackOps(PROJECT_DIR, checkpoints=CheckpointStore(tmp_path, 3))


def test_each_prod_stack_gets_its_own_passphrase(tmp_path, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.setenv("EAF_PASSPHRASE_PROD_A", "a-secret")
    monkeypatch.setenv("EAF_PASSPHRASE_PROD_B", "b-secret")
    ops = _ops(tmp_path)
    assert ops._env("prod-a") == {"PULUMI_CONFIG_PASSPHRASE": "a-secret"}
    assert ops._env("prod-b") == {"PULUMI_CONFIG_PASSPHRASE": "b-secret"}


def test_a_stack_without_any_passphrase_is_refused_before_the_engine_starts(tmp_path, monkeypatch):
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "EAF_PASSPHRASE_PROD_B"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="EAF_PASSPHRASE_PROD_B"):
        _ops(tmp_path)._env("prod-b")

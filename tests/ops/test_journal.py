"""The migration journal (infra/ops/journal.py): what is done survives a re-run; other inputs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.ops.journal import Journal, JournalError

INPUTS = {"from": "prod-a", "to": "prod-b", "destination": "local directory /mnt/prod-b"}


def test_a_finished_step_is_on_disk_at_once(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, "m1", INPUTS)
    journal.record("bring-up-spare", {"changes": {"create": 3}})
    on_disk = json.loads((tmp_path / "m1.json").read_text(encoding="utf-8"))
    assert on_disk["steps"]["bring-up-spare"]["result"] == {"changes": {"create": 3}}
    assert on_disk["inputs"] == INPUTS


def test_reopening_with_the_same_inputs_keeps_finished_steps(tmp_path: Path) -> None:
    Journal.open(tmp_path, "m1", INPUTS).record("bring-up-spare", {"changes": {}})
    again = Journal.open(tmp_path, "m1", dict(INPUTS))
    assert again.done("bring-up-spare") and not again.done("sync-data")


def test_reopening_with_other_inputs_is_refused_naming_the_change(tmp_path: Path) -> None:
    Journal.open(tmp_path, "m1", INPUTS).record("bring-up-spare", {"changes": {}})
    with pytest.raises(JournalError) as refused:
        Journal.open(tmp_path, "m1", {**INPUTS, "destination": "local directory /mnt/elsewhere"})
    message = str(refused.value)
    assert "destination: was 'local directory /mnt/prod-b', now 'local directory /mnt/elsewhere'" in message
    assert "finished steps (bring-up-spare)" in message and "start a new migration id" in message


def test_a_migration_id_is_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="use letters, digits"):
        Journal.open(tmp_path, "../escape", INPUTS)

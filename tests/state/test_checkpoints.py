"""Checkpoints: one file per `pulumi stack export`, the newest N kept, restore = export what is there, then import.

The engine's side (export/import on a real backend) is the real tier's (tests/backend); here `pulumi` is a recorder
that writes what `stack export` would, so that naming, retention and refusals are pinned exactly."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.ops.checkpoints import (
    CheckpointError,
    CheckpointStore,
    export_checkpoint,
    read_checkpoint,
    restore_checkpoint,
    taken_at,
)
from tests.state.checkpoint_files import export_document, write_checkpoint

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class RecordingPulumi:
    def __init__(self, document: dict | None = None, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.document = document
        self.fail = fail

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        if self.fail and self.fail in args:
            return subprocess.CompletedProcess(args, 255, "", f"error: {self.fail} failed: no stack named 'prod-b'")
        if args[:2] == ["stack", "export"]:
            Path(args[args.index("--file") + 1]).write_text(json.dumps(self.document or export_document("prod-b")))
        return subprocess.CompletedProcess(args, 0, "", "")


def _clock(start: datetime = START):
    ticks = iter(range(1000))
    return lambda: start + timedelta(minutes=next(ticks))


def test_an_export_lands_in_the_stacks_folder_named_by_its_utc_time(tmp_path):
    store = CheckpointStore(tmp_path, keep=3)
    path = export_checkpoint(store, "prod-b", RecordingPulumi(), _clock())
    assert path == tmp_path / "prod-b" / "prod-b-20261201T120000000000Z.json"
    assert taken_at(path) == START
    assert read_checkpoint(path, "prod-b")["deployment"]["resources"]


def test_only_the_newest_n_are_kept(tmp_path):
    store, clock = CheckpointStore(tmp_path, keep=3), _clock()
    made = [export_checkpoint(store, "prod-b", RecordingPulumi(), clock) for _ in range(5)]
    assert store.list("prod-b") == made[2:]


def test_each_stack_keeps_its_own(tmp_path):
    store, clock = CheckpointStore(tmp_path, keep=1), _clock()
    export_checkpoint(store, "prod-a", RecordingPulumi(export_document("prod-a")), clock)
    export_checkpoint(store, "prod-b", RecordingPulumi(), clock)
    assert [p.parent.name for p in (store.list("prod-a") + store.list("prod-b"))] == ["prod-a", "prod-b"]


def test_a_failed_export_leaves_nothing_and_prunes_nothing(tmp_path):
    store, clock = CheckpointStore(tmp_path, keep=1), _clock()
    kept = export_checkpoint(store, "prod-b", RecordingPulumi(), clock)
    with pytest.raises(CheckpointError, match="no stack named 'prod-b'"):
        export_checkpoint(store, "prod-b", RecordingPulumi(fail="export"), clock)
    assert store.list("prod-b") == [kept]
    assert list((tmp_path / "prod-b").iterdir()) == [kept]


def test_an_export_that_is_not_a_checkpoint_of_the_stack_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="a checkpoint of stack\\(s\\) prod-a, not prod-b"):
        export_checkpoint(CheckpointStore(tmp_path, 3), "prod-b", RecordingPulumi(export_document("prod-a")), _clock())
    assert list((tmp_path / "prod-b").iterdir()) == []


def test_a_file_without_a_deployment_is_refused(tmp_path):
    (tmp_path / "x.json").write_text('{"version": 3}')
    with pytest.raises(CheckpointError, match="not a `pulumi stack export` file"):
        read_checkpoint(tmp_path / "x.json", "prod-b")


def test_restore_exports_what_is_there_first_then_imports_the_checkpoint(tmp_path):
    store, clock, pulumi = CheckpointStore(tmp_path, keep=5), _clock(), RecordingPulumi()
    checkpoint = write_checkpoint(tmp_path, "prod-b", START - timedelta(days=1))
    before = restore_checkpoint(store, "prod-b", checkpoint, pulumi, clock)
    assert [c[:2] for c in pulumi.calls] == [["stack", "export"], ["stack", "import"]]
    assert pulumi.calls[1] == ["stack", "import", "--stack", "prod-b", "--file", str(checkpoint)]
    assert store.list("prod-b") == [checkpoint, before]


def test_restoring_the_oldest_checkpoint_never_prunes_it_before_the_import(tmp_path):
    store, clock = CheckpointStore(tmp_path, keep=1), _clock()
    oldest = write_checkpoint(tmp_path, "prod-b", START - timedelta(days=1))

    class CheckingPulumi(RecordingPulumi):
        def __call__(self, args):
            if args[:2] == ["stack", "import"]:
                assert Path(args[-1]).is_file(), "the checkpoint was pruned before the import"
            return super().__call__(args)

    before = restore_checkpoint(store, "prod-b", oldest, CheckingPulumi(), clock)
    assert store.list("prod-b") == [before]


def test_a_failed_import_says_so(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "prod-b", START)
    with pytest.raises(CheckpointError, match="pulumi stack import --stack prod-b exited 255"):
        restore_checkpoint(CheckpointStore(tmp_path, 3), "prod-b", checkpoint, RecordingPulumi(fail="import"),
                           _clock())

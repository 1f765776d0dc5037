"""Checkpoint files shaped as `pulumi stack export` writes them, for tests that need one without the engine."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from infra.ops.checkpoints import CheckpointStore


def export_document(stack: str, names: tuple[str, ...] = ("net",)) -> dict:
    resources = [{"urn": f"urn:pulumi:{stack}::eaf::pulumi:pulumi:Stack::eaf-{stack}", "type": "pulumi:pulumi:Stack"}]
    resources += [{"urn": f"urn:pulumi:{stack}::eaf::pulumi-python:dynamic:Resource::{n}"} for n in names]
    return {"version": 3, "deployment": {"manifest": {"version": "v3.274.1"}, "resources": resources}}


def write_checkpoint(root: Path, stack: str, taken: datetime, document: dict | None = None) -> Path:
    path = CheckpointStore(root, keep=10).new_path(stack, taken)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document or export_document(stack)))
    return path

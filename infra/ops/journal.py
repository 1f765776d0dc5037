"""The migration's journal: which steps finished, with their results, in `.work/migrations/<id>.json`.

A re-run reads it, skips finished steps and continues with the first unfinished one. A journal belongs to one set
of inputs (stacks, data locations, service names...): re-running the same id with other inputs is refused, since
its finished steps were done for those other inputs. Written atomically after every step, so an interrupted run
(a crash, Ctrl-C, a blocked step) leaves a journal that says exactly what was done.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class JournalError(RuntimeError):
    pass


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


@dataclass
class Journal:
    path: Path
    migration_id: str
    inputs: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step id -> {"finished": ..., "result": ...}

    @classmethod
    def open(cls, directory: Path, migration_id: str, inputs: Mapping[str, Any]) -> Journal:
        """The journal of `migration_id`: a new one, or the existing one if it was started with the same inputs."""
        if not MIGRATION_ID.match(migration_id):
            raise JournalError(f"migration id {migration_id!r}: use letters, digits, '.', '_' and '-' "
                               "(e.g. 2026-11-25-prod-a-to-prod-b)")
        path = directory / f"{migration_id}.json"
        if not path.is_file():
            return cls(path, migration_id, dict(inputs))
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if recorded.get("inputsSha256") != inputs_digest(inputs):
            before = recorded.get("inputs", {})
            changed = sorted(k for k in set(before) | set(inputs) if before.get(k) != inputs.get(k))
            details = "; ".join(f"{k}: was {before.get(k)!r}, now {inputs.get(k)!r}" for k in changed)
            raise JournalError(f"migration {migration_id} was started with other inputs ({details}); its finished "
                               f"steps ({', '.join(recorded.get('steps', {})) or 'none'}) were done for those. Re-run "
                               f"with the original inputs, or start a new migration id (journal: {path})")
        return cls(path, migration_id, dict(inputs), dict(recorded.get("steps", {})))

    def done(self, step: str) -> bool:
        return step in self.steps

    def result(self, step: str) -> dict[str, Any]:
        return self.steps[step]["result"]

    def record(self, step: str, result: Mapping[str, Any]) -> None:
        self.steps[step] = {"finished": datetime.now(UTC).isoformat(timespec="seconds"), "result": dict(result)}
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"id": self.migration_id, "inputs": self.inputs, "inputsSha256": inputs_digest(self.inputs),
                    "steps": self.steps}
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(partial, self.path)

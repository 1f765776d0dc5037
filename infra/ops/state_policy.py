"""infra/data/state.yaml as a typed model: per stack, where its state may live and what protects its secrets."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from infra.spec.base import Strict

STATE_DATA = Path(__file__).resolve().parents[1] / "data" / "state.yaml"


class StatePolicyError(ValueError):
    pass


class StackState(Strict):
    stack: str = Field(description="the stack's name: its key under `stacks`, filled in by StatePolicy")
    state: Literal["shared", "local", "baseline"]
    secrets: Literal["passphrase", "keyService", "sandbox"]

    @model_validator(mode="after")
    def _sandbox_only_local(self) -> StackState:
        if self.secrets == "sandbox" and self.state != "local":
            raise ValueError("the public sandbox passphrase is only for a stack with state: local")
        return self

    @property
    def needs_shared_backend(self) -> bool:
        return self.state == "shared"

    @property
    def passphrase_variable(self) -> str:
        """The CI/env variable holding this stack's passphrase: EAF_PASSPHRASE_PROD_B for prod-b."""
        return "EAF_PASSPHRASE_" + self.stack.upper().replace("-", "_")


class CheckpointPolicy(Strict):
    keep: int = Field(ge=1, description="`python -m infra up` keeps this many exported checkpoints per stack")
    max_age_minutes: int = Field(ge=1, description="an update refuses a checkpoint older than this")


class StatePolicy(Strict):
    shared_backend_schemes: tuple[str, ...]
    key_service_schemes: tuple[str, ...]
    sandbox_passphrase: str
    checkpoints: CheckpointPolicy
    stacks: dict[str, StackState]

    @model_validator(mode="before")
    @classmethod
    def _name_the_stacks(cls, document: Any) -> Any:
        if isinstance(document, dict) and isinstance(document.get("stacks"), dict):
            stacks = {name: {**entry, "stack": name} if isinstance(entry, dict) else entry
                      for name, entry in document["stacks"].items()}
            document = {**document, "stacks": stacks}
        return document

    def stack(self, name: str) -> StackState:
        try:
            return self.stacks[name]
        except KeyError:
            raise StatePolicyError(
                f"stack {name!r} is not listed in infra/data/state.yaml (listed: {', '.join(sorted(self.stacks))}): "
                "add it with its `state` (shared/local) and `secrets` (passphrase/keyService) before running it"
            ) from None


def parse_policy(document: dict[str, Any]) -> StatePolicy:
    try:
        return StatePolicy.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise StatePolicyError(f"infra/data/state.yaml: {problems}") from None


@cache
def _load(path: Path) -> StatePolicy:
    return parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_policy(path: Path = STATE_DATA) -> StatePolicy:
    return _load(path)

"""infra/data/state.yaml as typed data: per stack, where its state may live and what protects its secrets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STATE_DATA = Path(__file__).resolve().parents[1] / "data" / "state.yaml"
STATE_KINDS = ("shared", "local", "baseline")
SECRETS_KINDS = ("passphrase", "keyService", "sandbox")


class StatePolicyError(ValueError):
    pass


@dataclass(frozen=True)
class StackState:
    stack: str
    state: str  # one of STATE_KINDS
    secrets: str  # one of SECRETS_KINDS

    @property
    def needs_shared_backend(self) -> bool:
        return self.state == "shared"

    @property
    def passphrase_variable(self) -> str:
        """The CI/env variable holding this stack's passphrase: EAF_PASSPHRASE_PROD_B for prod-b."""
        return "EAF_PASSPHRASE_" + self.stack.upper().replace("-", "_")


@dataclass(frozen=True)
class CheckpointPolicy:
    keep: int
    max_age_minutes: int


@dataclass(frozen=True)
class StatePolicy:
    shared_backend_schemes: tuple[str, ...]
    key_service_schemes: tuple[str, ...]
    sandbox_passphrase: str
    checkpoints: CheckpointPolicy
    stacks: dict[str, StackState]

    def stack(self, name: str) -> StackState:
        try:
            return self.stacks[name]
        except KeyError:
            raise StatePolicyError(
                f"stack {name!r} is not listed in infra/data/state.yaml (listed: {', '.join(sorted(self.stacks))}): "
                "add it with its `state` (shared/local) and `secrets` (passphrase/keyService) before running it"
            ) from None


def _require(document: dict[str, Any], key: str, kind: type) -> Any:
    value = document.get(key)
    if not isinstance(value, kind):
        raise StatePolicyError(f"infra/data/state.yaml: `{key}` must be a {kind.__name__}, got {value!r}")
    return value


def parse_policy(document: dict[str, Any]) -> StatePolicy:
    stacks = {}
    for name, entry in _require(document, "stacks", dict).items():
        if not isinstance(entry, dict) or entry.get("state") not in STATE_KINDS \
                or entry.get("secrets") not in SECRETS_KINDS:
            raise StatePolicyError(f"infra/data/state.yaml: stacks.{name} = {entry!r}: needs state one of "
                                   f"{STATE_KINDS} and secrets one of {SECRETS_KINDS}")
        if entry["secrets"] == "sandbox" and entry["state"] != "local":
            raise StatePolicyError(f"infra/data/state.yaml: stacks.{name}: the public sandbox passphrase is only "
                                   "for a stack with state: local")
        stacks[name] = StackState(name, entry["state"], entry["secrets"])
    checkpoints = _require(document, "checkpoints", dict)
    keep, max_age = checkpoints.get("keep"), checkpoints.get("maxAgeMinutes")
    if not isinstance(keep, int) or keep < 1 or not isinstance(max_age, int) or max_age < 1:
        raise StatePolicyError(f"infra/data/state.yaml: checkpoints = {checkpoints!r}: keep and maxAgeMinutes "
                               "must be positive integers")
    return StatePolicy(
        shared_backend_schemes=tuple(_require(document, "sharedBackendSchemes", list)),
        key_service_schemes=tuple(_require(document, "keyServiceSchemes", list)),
        sandbox_passphrase=_require(document, "sandboxPassphrase", str),
        checkpoints=CheckpointPolicy(keep, max_age),
        stacks=stacks,
    )


def load_policy(path: Path = STATE_DATA) -> StatePolicy:
    return parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")))

"""The stack's secrets, only ever handled as Pulumi secret Outputs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.spec.layering import NAMESPACE


@dataclass(frozen=True)
class StackSecrets:
    pull_secret: pulumi.Output[str]
    ssh_public_keys: pulumi.Output[list[str]]


def _split_keys(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def read_secrets() -> StackSecrets:
    """Read after `load_spec` has checked that they are present."""
    config = pulumi.Config(NAMESPACE)
    pull_secret = pulumi.Output.secret(config.require_secret("pullSecret"))
    keys = pulumi.Output.secret(config.require_secret("sshPublicKeys")).apply(_split_keys)
    return StackSecrets(pull_secret=pull_secret, ssh_public_keys=keys)

"""Ignition for every node. PLACEHOLDER until the Ignition work lands."""

from __future__ import annotations

import pulumi

from infra.contracts import InstallAssets
from infra.secrets import StackSecrets
from infra.spec.load import LoadedStack


def node_configs(loaded: LoadedStack, secrets: StackSecrets, assets: InstallAssets) -> dict[str, pulumi.Input[str]]:
    return {}

"""The libvirt layer. PLACEHOLDER until the native backend lands: then this re-exports
`infra.libvirt.layer.create_machines`."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.contracts import Machines
from infra.spec.load import LoadedStack


def create_machines(loaded: LoadedStack, ignition: Mapping[str, pulumi.Input[str]]) -> Machines | None:
    return None

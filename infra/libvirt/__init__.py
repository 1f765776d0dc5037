"""The libvirt layer. PLACEHOLDER until the libvirt work lands."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.contracts import Machines
from infra.spec.load import LoadedStack


def create_machines(loaded: LoadedStack, ignition: Mapping[str, pulumi.Input[str]]) -> Machines | None:
    return None

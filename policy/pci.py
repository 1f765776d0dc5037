"""Policy: no PCI device is passed through twice on one hypervisor (a GPU belongs to one VM at a time)."""

from __future__ import annotations

from collections.abc import Sequence

from policy.machines import machines
from policy.records import ResourceRecord, StackInfo, Violation

NAME = "pci-device-once"


def check(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    users: dict[tuple[str, str], list] = {}
    for machine in machines(resources):
        for address in machine.pci_devices:
            users.setdefault((machine.host, address), []).append(machine)
    violations = []
    for (host, address), found in sorted(users.items()):
        if len(found) < 2:
            continue
        names = [m.resource_name for m in found]
        for machine in {m.urn: m for m in found}.values():
            violations.append(Violation(NAME, machine.urn, (
                f"PCI device {address} on hypervisor {host} is passed through {len(found)} times "
                f"(domains {', '.join(names)}) in stack {stack.name}: {machine.resource_name} cannot start while "
                "another VM holds it; give each GPU to one node (nodes.gpuWorkers.nodes.<node>.gpus)")))
    return violations

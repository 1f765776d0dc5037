"""Policy: a production cluster (role active or spare) has exactly 3 controllers, each on a different hypervisor.

etcd keeps quorum with one controller down; two controllers on one host would lose quorum with that host.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.machines import by_role, machines
from policy.records import ResourceRecord, StackInfo, Violation

NAME = "prod-controllers-spread"
CONTROLLERS = 3


def check(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    if not stack.is_prod:
        return []
    controllers = by_role(machines(resources), "controller")
    violations = []
    if len(controllers) != CONTROLLERS:
        names = ", ".join(m.resource_name for m in controllers) or "none"
        violations.append(Violation(NAME, "", (
            f"stack {stack.name} (role {stack.role}) defines {len(controllers)} controller domain(s) ({names}); "
            f"production needs exactly {CONTROLLERS}: set nodes.controllers.count to {CONTROLLERS}")))
    by_host: dict[str, list[str]] = {}
    for machine in controllers:
        by_host.setdefault(machine.host, []).append(machine.resource_name)
    for host, names in sorted(by_host.items()):
        if len(names) > 1:
            for machine in (m for m in controllers if m.host == host):
                violations.append(Violation(NAME, machine.urn, (
                    f"controller domain {machine.resource_name} (node {machine.node}) shares hypervisor {host} with "
                    f"{', '.join(n for n in names if n != machine.resource_name)} in stack {stack.name}: one host "
                    "down would lose etcd quorum; place each controller on its own host "
                    "(eaf:nodes.controllers.nodes.<node>.host, or drop the pins)")))
    return violations

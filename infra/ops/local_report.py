"""After `pulumi up -s local`: does every VM run, hold its planned lease, resolve OKD's names and see its Ignition?

Compares what each guest's probe printed on its serial console with the plan and with the Ignition the program
generated (the stack output `ignitionSha256`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.ops.probe import ProbeLine, last_probe_line
from infra.plan.model import ClusterPlan, PlannedNode

SERIAL_LOG_DIR = Path("/var/log/libvirt/qemu")


def serial_log(domain_name: str) -> Path:
    """Where the native backend's domains write their serial console (see infra/libvirt/templates)."""
    return SERIAL_LOG_DIR / f"{domain_name}-serial.log"


@dataclass(frozen=True)
class NodeCheck:
    node: str
    state: str
    planned_ip: str
    leased_ip: str | None
    dns: dict[str, tuple[str | None, str]]  # name -> (answer, expected)
    ignition_seen: str | None
    ignition_generated: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def expected_dns(plan: ClusterPlan) -> dict[str, str]:
    net = plan.network
    return {
        f"api.{plan.domain}": str(net.api_ip),
        f"api-int.{plan.domain}": str(net.api_ip),
        f"probe-check.apps.{plan.domain}": str(net.ingress_ip),
    }


def check_node(node: PlannedNode, plan: ClusterPlan, state: str, probe: ProbeLine | None,
               generated_sha256: str | None) -> NodeCheck:
    problems = []
    if state != "running":
        problems.append(f"domain is {state}")
    leased = probe.ip.split("/")[0] if probe and probe.ip else None
    dns = {}
    if probe is None:
        problems.append("no probe line on the serial console yet")
    else:
        if leased != str(node.ip):
            problems.append(f"leased {leased}, planned {node.ip}")
        if (probe.mac or "").lower() != node.mac:
            problems.append(f"NIC MAC {probe.mac}, planned {node.mac}")
        for name, want in expected_dns(plan).items():
            got = probe.dns.get(name)
            dns[name] = (got, want)
            if got is None or want not in got.split(","):
                problems.append(f"{name} resolved to {got}, expected {want}")
        if generated_sha256 is None or probe.ignition_sha256 != generated_sha256:
            problems.append(f"Ignition sha256 seen {probe.ignition_sha256}, generated {generated_sha256}")
    return NodeCheck(
        node=node.name, state=state, planned_ip=str(node.ip), leased_ip=leased, dns=dns,
        ignition_seen=probe.ignition_sha256 if probe else None, ignition_generated=generated_sha256,
        problems=tuple(problems),
    )


def check_cluster(plan: ClusterPlan, states: Callable[[], Mapping[str, str]], generated: Mapping[str, str],
                  timeout_s: float = 300.0, poll_s: float = 2.0) -> list[NodeCheck]:
    """Wait (bounded) until every VM's probe line agrees with the plan, then return the checks (failed ones too)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = states()
        checks = [
            check_node(n, plan, current.get(n.domain_name, "absent"), last_probe_line(serial_log(n.domain_name)),
                       generated.get(n.name))
            for n in plan.nodes
        ]
        if all(c.ok for c in checks) or time.monotonic() >= deadline:
            return checks
        time.sleep(poll_s)


def render_table(checks: list[NodeCheck]) -> str:
    header = ("vm", "state", "planned ip", "leased ip", "dns (api/api-int/*.apps)", "ignition seen = generated", "ok")
    rows = []
    for c in checks:
        dns = "/".join((answer or "-") for answer, _ in c.dns.values()) or "-"
        same = "-" if c.ignition_seen is None else ("yes " if c.ignition_seen == c.ignition_generated else "NO ")
        same += (c.ignition_seen or "")[:12]
        rows.append((c.node, c.state, c.planned_ip, c.leased_ip or "-", dns, same, "ok" if c.ok else "FAIL"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    for c in checks:
        lines += [f"  {c.node}: {p}" for p in c.problems]
    return "\n".join(lines)

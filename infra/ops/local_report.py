"""After `pulumi up -s local`: does every VM run, hold its planned lease, resolve OKD's names and see its Ignition?

Compares what each guest's probe printed on its serial console with the plan and with the Ignition the program
generated (the stack output `ignitionSha256`), and where libvirt runs it with the host the plan placed it on (a
stack on several hypervisors: each host's libvirt is asked which domains it has).
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
class DomainSeen:
    """A domain as the hypervisors' libvirt report it: its state, and every host that lists it."""

    state: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class NodeCheck:
    node: str
    state: str
    planned_host: str
    hosts: tuple[str, ...]  # where libvirt has the domain (exactly the planned host when all is well)
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


ABSENT = DomainSeen("absent", ())


def check_node(node: PlannedNode, plan: ClusterPlan, seen: DomainSeen, probe: ProbeLine | None,
               generated_sha256: str | None) -> NodeCheck:
    problems = []
    state = seen.state
    if state != "running":
        problems.append(f"domain is {state}")
    if seen.hosts and seen.hosts != (node.host,):
        problems.append(f"runs on {', '.join(seen.hosts)}, planned on {node.host}")
    leased = probe.ip.split("/")[0] if probe and probe.ip else None
    dns = {}
    if probe is None:
        problems.append("no probe line on the serial console yet")
    else:
        if leased != str(node.ip):
            problems.append(f"leased {leased}, planned {node.ip}")
        # A static first boot proves itself only if the address came from its kernel arguments, not a stray lease.
        want_source = "static" if plan.network.first_boot == "static" else "dhcp"
        if probe.ip_source != want_source and (want_source == "static" or probe.ip_source is not None):
            problems.append(f"address from {probe.ip_source}, planned from {want_source} (eaf:network.firstBoot)")
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
        node=node.name, state=state, planned_host=node.host, hosts=seen.hosts, planned_ip=str(node.ip),
        leased_ip=leased, dns=dns,
        ignition_seen=probe.ignition_sha256 if probe else None, ignition_generated=generated_sha256,
        problems=tuple(problems),
    )


def check_cluster(plan: ClusterPlan, domains: Callable[[], Mapping[str, DomainSeen]], generated: Mapping[str, str],
                  timeout_s: float = 300.0, poll_s: float = 2.0,
                  serial_log_of: Callable[[PlannedNode], Path] | None = None) -> list[NodeCheck]:
    """Wait (bounded) until every VM's probe line agrees with the plan, then return the checks (failed ones too).
    `serial_log_of` says where a node's serial log is readable here (default: this machine's libvirt log folder)."""
    log_of = serial_log_of or (lambda node: serial_log(node.domain_name))
    deadline = time.monotonic() + timeout_s
    while True:
        current = domains()
        checks = [
            check_node(n, plan, current.get(n.domain_name, ABSENT), last_probe_line(log_of(n)),
                       generated.get(n.name))
            for n in plan.nodes
        ]
        if all(c.ok for c in checks) or time.monotonic() >= deadline:
            return checks
        time.sleep(poll_s)


def render_table(checks: list[NodeCheck]) -> str:
    header = ("vm", "host", "state", "planned ip", "leased ip", "dns (api/api-int/*.apps)",
              "ignition seen = generated", "ok")
    rows = []
    for c in checks:
        host = ",".join(c.hosts) or "-"
        dns = "/".join((answer or "-") for answer, _ in c.dns.values()) or "-"
        same = "-" if c.ignition_seen is None else ("yes " if c.ignition_seen == c.ignition_generated else "NO ")
        same += (c.ignition_seen or "")[:12]
        rows.append((c.node, host, c.state, c.planned_ip, c.leased_ip or "-", dns, same, "ok" if c.ok else "FAIL"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    for c in checks:
        lines += [f"  {c.node}: {p}" for p in c.problems]
    return "\n".join(lines)

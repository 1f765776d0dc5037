"""The VM report (infra/ops/local_report.py): a VM agrees with the plan when it runs on its planned host, holds its
planned lease, resolves OKD's names there and read its own Ignition."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from infra.ops.local_report import ABSENT, DomainSeen, check_node, expected_dns, render_table
from infra.ops.probe import ProbeLine, parse_probe_lines
from infra.plan.model import ClusterPlan, PlannedNode
from infra.spec.offline import load_offline

IGNITION = "ab" * 32


@cache
def _plan() -> ClusterPlan:
    return load_offline("dev").plan


def _node(name: str) -> PlannedNode:
    return next(n for n in _plan().nodes if n.name == name)


def _probe(node: PlannedNode) -> ProbeLine:
    return ProbeLine(mac=node.mac, ip=f"{node.ip}/24", hostname=node.hostname, domain=_plan().domain,
                     ignition_sha256=IGNITION, ignition_bytes=100, dns=expected_dns(_plan()), disk_sha256=None,
                     errors=())


def test_a_vm_on_its_planned_host_with_its_lease_dns_and_ignition_agrees() -> None:
    node = _node("ctrl-1")
    check = check_node(node, _plan(), DomainSeen("running", (node.host,)), _probe(node), IGNITION)
    assert check.ok, check.problems


def test_a_vm_on_another_host_than_planned_is_reported() -> None:
    node = _node("ctrl-1")
    other = next(h.name for h in _plan().hosts if h.name != node.host)
    check = check_node(node, _plan(), DomainSeen("running", (other,)), _probe(node), IGNITION)
    assert check.problems == (f"runs on {other}, planned on {node.host}",)


def test_a_vm_defined_on_two_hosts_is_reported() -> None:
    node = _node("ctrl-1")
    hosts = tuple(h.name for h in _plan().hosts[:2])
    check = check_node(node, _plan(), DomainSeen("running", hosts), _probe(node), IGNITION)
    assert check.problems == (f"runs on {', '.join(hosts)}, planned on {node.host}",)


def test_a_vm_no_host_has_is_absent() -> None:
    node = _node("worker-0")
    check = check_node(node, _plan(), ABSENT, None, IGNITION)
    assert check.problems == ("domain is absent", "no probe line on the serial console yet")


def test_the_table_names_the_host_each_vm_runs_on() -> None:
    node = _node("ctrl-2")
    table = render_table([check_node(node, _plan(), DomainSeen("running", (node.host,)), _probe(node), IGNITION)])
    header, row = table.splitlines()[:2]
    assert header.split()[:2] == ["vm", "host"] and row.split()[:3] == ["ctrl-2", node.host, "running"]


def _static_plan() -> ClusterPlan:
    plan = _plan()
    return replace(plan, network=replace(plan.network, first_boot="static"))


def test_on_a_static_first_boot_network_a_vm_with_its_address_from_the_ip_argument_agrees() -> None:
    node = _node("ctrl-1")
    probe = replace(_probe(node), ip_source="static")
    check = check_node(node, _static_plan(), DomainSeen("running", (node.host,)), probe, IGNITION)
    assert check.ok, check.problems


def test_on_a_static_first_boot_network_an_address_from_a_dhcp_lease_proves_nothing_and_is_reported() -> None:
    node = _node("ctrl-1")
    probe = replace(_probe(node), ip_source="dhcp")
    check = check_node(node, _static_plan(), DomainSeen("running", (node.host,)), probe, IGNITION)
    assert check.problems == ("address from dhcp, planned from static (eaf:network.firstBoot)",)


def test_the_probe_line_says_where_its_address_came_from() -> None:
    line = ('EAF-PROBE {"v":1,"seq":1,"mac":"52:54:00:00:00:01","ip":"10.0.0.10/24","hostname":"c.x",'
            '"domain":"x","ip_source":"static","dns":{},"errors":[]}')
    assert [p.ip_source for p in parse_probe_lines(line)] == ["static"]

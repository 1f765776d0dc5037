"""Two clusters on the same hypervisors: what they must not share, and what they must not count twice.

prod-a and prod-b may share hypervisors (a host of the same name, or a URI that reaches the same daemon) and, on
them, a bridge. Then:
  - at most one of them is `active`, and their names differ (DNS names, libvirt domain names);
  - a shared host's name means one hypervisor in both stacks, and its storage pool is each stack's own;
  - a shared host's vCPUs and RAM hold both clusters' VMs at once (the spare runs too), counted against the smaller
    of the two stacks' figures for it;
  - a GPU (host + PCI address) goes to one VM of one cluster;
  - on a shared bridge the two clusters are on one L2 segment: no node address, MAC or gateway of one may be used
    by the other. (libvirt networks of nat/route stacks on one host must not share a name or overlap.)
Each problem names this stack's own field.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.plan.build import pin_path
from infra.plan.model import ClusterPlan, PlannedNode
from infra.plan.roles import role_info
from infra.spec.cluster import ClusterSpec
from infra.spec.errors import Problem
from infra.spec.hosts import Host
from infra.spec.libvirt_uri import endpoint
from infra.spec.nodes import NodePin, SingleNode


@dataclass(frozen=True)
class Stack:
    """One side of the comparison: a validated stack and its plan."""

    name: str
    spec: ClusterSpec
    plan: ClusterPlan


def _shared(mine: tuple[Host, ...], theirs: tuple[Host, ...]) -> list[tuple[int, Host, Host]]:
    pairs = []
    for index, host in enumerate(mine):
        for other in theirs:
            reached = endpoint(host.uri)
            if host.name == other.name or (reached is not None and reached == endpoint(other.uri)):
                pairs.append((index, host, other))
    return pairs


def _used(nodes: tuple[PlannedNode, ...]) -> tuple[int, float]:
    return sum(n.vcpu for n in nodes), sum(n.memory_mib for n in nodes) / 1024


def _role_problems(me: Stack, other: Stack) -> list[Problem]:
    problems = []
    if me.spec.cluster.role == "active" and other.spec.cluster.role == "active":
        problems.append(Problem(
            "eaf:cluster.role", "active",
            f"{other.name} (Pulumi.{other.name}.yaml, on the same baseline) is active too: one production cluster "
            "serves the facility's names at a time",
            "keep one active: set eaf:cluster.role to spare in one of them, or switch the two with the migration "
            "runbook (python -m infra migrate, docs/migration.md)"))
    if me.spec.cluster.name == other.spec.cluster.name:
        problems.append(Problem(
            "eaf:cluster.name", me.spec.cluster.name,
            f"{other.name} has the same cluster name: the two would claim the same DNS names and libvirt domain names",
            "give each cluster its own eaf:cluster.name"))
    return problems


def _host_problems(me: Stack, other: Stack, index: int, host: Host, theirs: Host) -> list[Problem]:
    at = f"eaf:hosts[{index}]"
    problems = []
    if host.name == theirs.name and endpoint(host.uri) != endpoint(theirs.uri):
        problems.append(Problem(f"{at}.uri", host.uri, f"{other.name} names host {theirs.name} {theirs.uri}: one "
                                "name, two hypervisors", f"use the URI {other.name} uses, or another host name"))
    if host.pool.name == theirs.pool.name:
        problems.append(Problem(f"{at}.pool.name", host.pool.name, f"{other.name} manages a storage pool of this "
                                f"name on the shared host {host.name}: each stack would delete or redefine the other's",
                                f"give each stack its own pool, e.g. {me.spec.cluster.name}"))
    elif host.pool.path.rstrip("/") == theirs.pool.path.rstrip("/"):
        problems.append(Problem(f"{at}.pool.path", host.pool.path, f"{other.name}'s pool {theirs.pool.name} on the "
                                f"shared host {host.name} has this directory: libvirt refuses a second pool there",
                                f"give each stack its own directory, e.g. /var/lib/libvirt/{me.spec.cluster.name}"))
    mine_cpu, mine_memory = _used(me.plan.on_host(host.name))
    theirs_cpu, theirs_memory = _used(other.plan.on_host(theirs.name))
    for key, have_mine, have_theirs, limit, unit in (
            ("cpus", mine_cpu, theirs_cpu, min(host.cpus, theirs.cpus), "vCPU"),
            ("memoryGiB", mine_memory, theirs_memory, min(host.memory_gib, theirs.memory_gib), "GiB of RAM")):
        if have_mine and have_theirs and have_mine + have_theirs > limit:
            problems.append(Problem(
                f"{at}.{key}", getattr(host, "cpus" if key == "cpus" else "memory_gib"),
                f"host {host.name} is shared with {other.name}, whose VMs take {have_theirs:g} {unit} of it: with "
                f"this stack's {have_mine:g} that is {have_mine + have_theirs:g}, more than the host's {limit:g}",
                "move VMs off the shared host (pin nodes to other hosts), make them smaller, or give each stack "
                "hosts of its own"))
    theirs_gpus = {g.address: n.name for n in other.plan.on_host(theirs.name) for g in n.gpus}
    for node in me.plan.on_host(host.name):
        for gpu in node.gpus:
            if gpu.address in theirs_gpus:
                pinned = _pin(me.spec, node).gpus is not None
                path = f"{pin_path(me.spec, node.name)}.gpus" if pinned else f"{at}.gpus"
                problems.append(Problem(
                    path, gpu.address, f"{node.name} gets GPU {gpu.address} of the shared host {host.name}, which "
                    f"{other.name} gives to its {theirs_gpus[gpu.address]}: a PCI device passes through to one VM",
                    f"give each stack different GPUs of {host.name}: list only this stack's under {at}.gpus, or pin "
                    "the node's gpus"))
    return problems


def _pin(spec: ClusterSpec, node: PlannedNode) -> NodePin:
    group = spec.nodes.group(role_info(node.role).config_key)
    return group.pin if isinstance(group, SingleNode) else group.nodes.get(node.name, NodePin())


def _segment_problems(me: Stack, other: Stack, shared: list[str]) -> list[Problem]:
    """Two clusters on one bridge of a shared host are one L2 segment."""
    net, theirs = me.plan.network, other.plan.network
    hosts = ", ".join(shared)
    problems = []
    if net.mode != "bridge" or theirs.mode != "bridge":
        if net.mode != "bridge" and theirs.mode != "bridge":
            if net.name == theirs.name:
                problems.append(Problem("eaf:network.name", net.name, f"{other.name} defines a libvirt network of "
                                        f"this name on the shared host(s) {hosts}", "give each stack its own network"))
            if net.cidr.overlaps(theirs.cidr):
                problems.append(Problem("eaf:network.cidr", str(net.cidr), f"overlaps {other.name}'s network "
                                        f"{theirs.cidr} on the shared host(s) {hosts}: libvirt refuses the second",
                                        "give each stack its own range"))
        return problems
    if net.bridge != theirs.bridge:
        return problems
    used = {n.ip: f"its node {n.name}" for n in other.plan.nodes}
    used.setdefault(theirs.gateway, "its gateway")
    macs = {n.mac: n.name for n in other.plan.nodes}
    where = f"both are on bridge {net.bridge} of the shared host(s) {hosts}"
    for node in me.plan.nodes:
        pin = _pin(me.spec, node)
        pins = pin_path(me.spec, node.name)
        if node.ip in used:
            path, value = (f"{pins}.ip", str(node.ip)) if pin.ip is not None else ("eaf:network.cidr", str(net.cidr))
            problems.append(Problem(path, value, f"{node.name} gets {node.ip}, which {other.name} uses for "
                                    f"{used[node.ip]}: {where}", "give the two clusters different address ranges "
                                    "(eaf:network.cidr), or pin another address"))
        if node.mac in macs:
            path = f"{pins}.mac" if pin.mac is not None else "eaf:cluster.name"
            problems.append(Problem(path, node.mac, f"{node.name} has the MAC of {other.name}'s {macs[node.mac]}: "
                                    f"{where}", "give every node its own MAC (planned MACs differ when the cluster "
                                    "names do)"))
    if net.gateway in {n.ip for n in other.plan.nodes}:
        problems.append(Problem("eaf:network.gateway", str(net.gateway), f"{other.name} has a node at this address: "
                                f"{where}", "use the segment's real gateway"))
    return problems


def shared_host_problems(me: Stack, other: Stack) -> list[Problem]:
    """What `me` must change so that it can run beside `other` (a stack on the same baseline)."""
    problems = _role_problems(me, other)
    pairs = _shared(me.spec.hosts, other.spec.hosts)
    for index, host, theirs in pairs:
        problems += _host_problems(me, other, index, host, theirs)
    if pairs:
        problems += _segment_problems(me, other, sorted({host.name for _i, host, _t in pairs}))
    return problems

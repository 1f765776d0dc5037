"""From a validated spec to the machine plan, collecting every cross-field problem on the way."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from infra.catalog import mig_data
from infra.plan import mig
from infra.plan.addresses import host_address, mac_for, usable_host_numbers
from infra.plan.model import ClusterPlan, DataDiskPlan, GpuAssignment, HostPlan, NetworkPlan, PlannedNode, Role
from infra.plan.placement import Demand, place
from infra.spec.cluster import ClusterSpec
from infra.spec.errors import Problem
from infra.spec.nodes import NodeGroup, NodePin, SingleNode


@dataclass(frozen=True)
class _Wanted:
    name: str
    role: Role
    path: str  # config path of the group
    shape: NodeGroup | SingleNode
    pin: NodePin
    offset: int  # host number in the CIDR unless pinned


_GROUPS = (
    # (spec attribute, config key, role, node-name stem)
    ("controllers", "controllers", Role.CONTROLLER, "ctrl"),
    ("workers", "workers", Role.WORKER, "worker"),
    ("gpu_workers", "gpuWorkers", Role.GPU_WORKER, "gpu"),
)


def _wanted_nodes(spec: ClusterSpec) -> tuple[list[_Wanted], list[Problem]]:
    nodes = spec.nodes
    offsets = spec.network.offsets
    wanted: list[_Wanted] = []
    problems: list[Problem] = []
    if nodes.load_balancer.enabled:
        wanted.append(_Wanted("lb", Role.LOAD_BALANCER, "eaf:nodes.loadBalancer", nodes.load_balancer,
                              nodes.load_balancer.pin, offsets.load_balancer))
    if nodes.bootstrap.enabled:
        wanted.append(_Wanted("bootstrap", Role.BOOTSTRAP, "eaf:nodes.bootstrap", nodes.bootstrap,
                              nodes.bootstrap.pin, offsets.bootstrap))
    for attr, key, role, stem in _GROUPS:
        group: NodeGroup = getattr(nodes, attr)
        offset = getattr(offsets, attr)
        names = [f"{stem}-{i}" for i in range(group.count)]
        for unknown in sorted(set(group.nodes) - set(names)):
            problems.append(Problem(
                f"eaf:nodes.{key}.nodes.{unknown}", unknown,
                f"no such node: the group has count {group.count}",
                f"pin one of: {', '.join(names) or '(none: count is 0)'}",
            ))
        for i, name in enumerate(names):
            wanted.append(_Wanted(name, role, f"eaf:nodes.{key}", group, group.nodes.get(name, NodePin()), offset + i))
    return wanted, problems


def _check_controller_count(spec: ClusterSpec) -> list[Problem]:
    count = spec.nodes.controllers.count
    if count in (1, 3):
        return []
    return [Problem(
        "eaf:nodes.controllers.count", count,
        "OKD's etcd quorum needs exactly 3 control-plane nodes (or 1 for single-node OpenShift)",
        "set it to 3 (or 1 for a single-node cluster)",
    )]


def _check_network(spec: ClusterSpec) -> list[Problem]:
    net = spec.network
    problems = []
    if net.mode in ("nat", "route") and len(spec.hosts) > 1:
        problems.append(Problem(
            "eaf:network.mode", net.mode,
            f"a {net.mode} network lives inside one hypervisor, so VMs on the stack's {len(spec.hosts)} hosts could "
            "not reach each other",
            "use mode: bridge with `bridge:` naming the host bridge on the cluster VLAN, or keep the stack on one host",
        ))
    if net.mode == "bridge" and not net.bridge:
        problems.append(Problem("eaf:network.bridge", None, "bridge mode needs the name of the host bridge",
                                "set eaf:network.bridge to the bridge every hypervisor has on the cluster VLAN"))
    if net.mode == "bridge" and not net.dns_servers:  # the nodes' keyfiles (ignition/node.py) name them
        problems.append(Problem("eaf:network.dnsServers", [], "a bridge network has no libvirt DNS, so the nodes "
                                "need the site's", "list the DNS servers that hold the cluster's records (api, "
                                "api-int, *.apps), e.g. [10.0.0.53]"))
    return problems


def _check_mig(spec: ClusterSpec) -> list[Problem]:
    layout = spec.nodes.gpu_workers.mig_layout
    if layout is None or spec.nodes.gpu_workers.count == 0:
        return []
    reasons = mig.layout_problems(layout, mig_data())
    return [Problem("eaf:nodes.gpuWorkers.migLayout", layout, "; ".join(reasons),
                    "pick a layout from infra/data/mig-layouts.yaml made for this GPU model, or fix the layout there")
            ] if reasons else []


def _addresses(spec: ClusterSpec, wanted: list[_Wanted]) -> tuple[dict[str, IPv4Address], list[Problem]]:
    net = spec.network
    usable = usable_host_numbers(net.cidr)
    gateway = net.gateway or host_address(net.cidr, 1)
    ips: dict[str, IPv4Address] = {}
    problems: list[Problem] = []
    if gateway not in net.cidr:
        problems.append(Problem("eaf:network.gateway", str(gateway), f"outside {net.cidr}",
                                f"use an address inside {net.cidr}, usually its first host address"))
    highest = max((w.offset for w in wanted if w.pin.ip is None), default=0)
    if highest not in usable:
        problems.append(Problem(
            "eaf:network.cidr", str(net.cidr),
            f"too small for the nodes: the plan needs host number {highest} but a /{net.cidr.prefixlen} has only "
            f"{len(usable)} usable addresses",
            f"use a larger network (e.g. /{max(net.cidr.prefixlen - 2, 8)}), fewer nodes, or lower eaf:network.offsets",
        ))
    owner: dict[IPv4Address, str] = {gateway: "the gateway"}
    for w in wanted:
        pinned = w.pin.ip is not None
        ip = w.pin.ip if pinned else host_address(net.cidr, w.offset) if w.offset in usable else None
        if ip is None:
            continue
        single = w.role in (Role.LOAD_BALANCER, Role.BOOTSTRAP)
        where = f"{w.path}.pin.ip" if single else f"{w.path}.nodes.{w.name}.ip"
        if pinned and (ip not in net.cidr or int(ip) - int(net.cidr.network_address) not in usable):
            problems.append(Problem(where, str(ip), f"not a usable host address of eaf:network.cidr {net.cidr}",
                                    f"pick an address inside {net.cidr} (not its network or broadcast address)"))
            continue
        if ip in owner:
            problems.append(Problem(
                where if pinned else "eaf:network.offsets", str(ip),
                f"{w.name} would get {ip}, which {owner[ip]} already has",
                "give every node its own address (change the pin, or the offsets so the ranges do not overlap)",
            ))
            continue
        owner[ip] = w.name
        ips[w.name] = ip
    return ips, problems


def _unique(values: dict[str, str], what: str, path_of: dict[str, str]) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for node, value in values.items():
        if value in seen:
            problems.append(Problem(
                path_of[node], value, f"{node} has the same {what} as {seen[value]}",
                f"give every node its own {what}",
            ))
        else:
            seen[value] = node
    return problems


def build_plan(spec: ClusterSpec, stack: str) -> tuple[ClusterPlan | None, list[Problem]]:
    problems = _check_controller_count(spec) + _check_network(spec) + _check_mig(spec)
    wanted, more = _wanted_nodes(spec)
    problems += more
    ips, more = _addresses(spec, wanted)
    problems += more

    cluster = spec.cluster.name
    pin_path = {
        w.name: (f"{w.path}.pin" if w.role in (Role.LOAD_BALANCER, Role.BOOTSTRAP) else f"{w.path}.nodes.{w.name}")
        for w in wanted
    }
    macs = {w.name: w.pin.mac or mac_for(cluster, w.name) for w in wanted}
    hostnames = {w.name: w.pin.hostname or w.name for w in wanted}
    problems += _unique(macs, "MAC address", {n: f"{p}.mac" for n, p in pin_path.items()})
    problems += _unique(hostnames, "hostname", {n: f"{p}.hostname" for n, p in pin_path.items()})

    gpu_group = spec.nodes.gpu_workers
    layout_model = mig.layout_model(gpu_group.mig_layout, mig_data()) if gpu_group.mig_layout else None
    demands = [
        Demand(
            node=w.name, group_path=w.path, role=w.role.value, vcpu=w.shape.vcpu, memory_gib=w.shape.memory_gib,
            disk_gib=w.shape.disk_gib + sum(d.size_gib for d in getattr(w.shape, "data_disks", ())),
            gpus_wanted=gpu_group.gpus_per_node if w.role is Role.GPU_WORKER and w.pin.gpus is None else 0,
            pinned_host=w.pin.host, pinned_gpus=w.pin.gpus, gpu_model=layout_model,
        )
        for w in wanted
    ]
    placement, more = place(spec.hosts, demands, spread_controllers=len(spec.hosts) >= 3)
    problems += more
    if layout_model is not None:
        for node, gpus in sorted(placement.gpus_of.items()):
            for address, model in gpus:
                if model != layout_model:
                    problems.append(Problem(
                        "eaf:nodes.gpuWorkers.migLayout", gpu_group.mig_layout,
                        f"the layout is for {layout_model}, but {node} gets GPU {address}, an {model}",
                        f"pick a layout made for {model} in infra/data/mig-layouts.yaml",
                    ))
    if problems:
        return None, problems

    net = spec.network
    gateway = net.gateway or host_address(net.cidr, 1)
    lb_ip = ips.get("lb")
    controllers = [ips[w.name] for w in wanted if w.role is Role.CONTROLLER]
    api_ip = lb_ip or controllers[0]
    hosts = tuple(
        HostPlan(h.name, h.uri, h.pool.name, h.pool.path, h.cpus, h.memory_gib, h.pool.capacity_gib)
        for h in spec.hosts
    )
    network = NetworkPlan(
        name=net.name or cluster, mode=net.mode, bridge=net.bridge, cidr=net.cidr, gateway=gateway,
        prefix_length=net.cidr.prefixlen, mtu=net.mtu, dns_servers=net.dns_servers, domain=spec.cluster.domain,
        api_ip=api_ip, ingress_ip=lb_ip or api_ip,
    )
    nodes = tuple(
        PlannedNode(
            name=w.name, role=w.role, hostname=hostnames[w.name], fqdn=f"{hostnames[w.name]}.{spec.cluster.domain}",
            domain_name=f"{cluster}-{w.name}", host=placement.host_of[w.name], ip=ips[w.name], mac=macs[w.name],
            vcpu=w.shape.vcpu, memory_mib=int(round(w.shape.memory_gib * 1024)), disk_gib=w.shape.disk_gib,
            firmware=w.shape.firmware,
            data_disks=tuple(DataDiskPlan(d.name, d.size_gib) for d in getattr(w.shape, "data_disks", ())),
            gpus=tuple(GpuAssignment(placement.host_of[w.name], a, m) for a, m in placement.gpus_of.get(w.name, ())),
            mig_layout=gpu_group.mig_layout if w.role is Role.GPU_WORKER else None,
        )
        for w in wanted
    )
    plan = ClusterPlan(stack=stack, cluster_name=cluster, domain=spec.cluster.domain, role=spec.cluster.role,
                       hosts=hosts, network=network, nodes=nodes)
    return plan, []

"""From a validated spec to the machine plan, collecting every cross-field problem on the way."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from infra.catalog import mig_catalogue
from infra.plan import mig
from infra.plan.addresses import host_address, mac_for, usable_host_numbers
from infra.plan.model import ClusterPlan, DataDiskPlan, GpuAssignment, HostPlan, NetworkPlan, PlannedNode, Role
from infra.plan.placement import Demand, place
from infra.plan.roles import role_info
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
    pin_path: str  # config path of the node's pin
    offset: int  # host number in the CIDR unless pinned


def _wanted_nodes(spec: ClusterSpec) -> tuple[list[_Wanted], list[Problem]]:
    """Every node the spec asks for, role by role in the role table's order, each group in index order."""
    wanted: list[_Wanted] = []
    problems: list[Problem] = []
    for role in Role:
        info = role_info(role)
        group = spec.nodes.group(info.config_key)
        path = f"eaf:nodes.{info.config_key}"
        offset = spec.network.offsets.start(info.offset_key)
        if isinstance(group, SingleNode):
            if group.enabled:
                wanted.append(_Wanted(info.stem, role, path, group, group.pin, f"{path}.pin", offset))
            continue
        names = [f"{info.stem}-{i}" for i in range(group.count)]
        for unknown in sorted(set(group.nodes) - set(names)):
            problems.append(Problem(
                f"{path}.nodes.{unknown}", unknown,
                f"no such node: the group has count {group.count}",
                f"pin one of: {', '.join(names) or '(none: count is 0)'}",
            ))
        for i, name in enumerate(names):
            wanted.append(_Wanted(name, role, path, group, group.nodes.get(name, NodePin()),
                                  f"{path}.nodes.{name}", offset + i))
    return wanted, problems


def _bootstrap_ip(spec: ClusterSpec, ips: dict[str, IPv4Address]) -> IPv4Address | None:
    """Where the bootstrap node is, or would be when it is off; None when another node holds that address."""
    info = role_info(Role.BOOTSTRAP)
    if info.stem in ips:
        return ips[info.stem]
    single = spec.nodes.group(info.config_key)
    assert isinstance(single, SingleNode)
    address = single.pin.ip or host_address(spec.network.cidr, spec.network.offsets.start(info.offset_key))
    return None if address in ips.values() else address


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
    reasons = mig.layout_problems(layout, mig_catalogue())
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
        where = f"{w.pin_path}.ip"
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
    pin_path = {w.name: w.pin_path for w in wanted}
    macs = {w.name: w.pin.mac or mac_for(cluster, w.name) for w in wanted}
    hostnames = {w.name: w.pin.hostname or w.name for w in wanted}
    problems += _unique(macs, "MAC address", {n: f"{p}.mac" for n, p in pin_path.items()})
    problems += _unique(hostnames, "hostname", {n: f"{p}.hostname" for n, p in pin_path.items()})

    gpu_group = spec.nodes.gpu_workers
    layout_model = mig.layout_model(gpu_group.mig_layout, mig_catalogue()) if gpu_group.mig_layout else None
    demands = [
        Demand(
            node=w.name, group_path=w.path, pin_path=w.pin_path, role=w.role, vcpu=w.shape.vcpu,
            memory_gib=w.shape.memory_gib,
            disk_gib=w.shape.disk_gib + sum(d.size_gib for d in getattr(w.shape, "data_disks", ())),
            gpus_wanted=gpu_group.gpus_per_node if role_info(w.role).gpus and w.pin.gpus is None else 0,
            pinned_host=w.pin.host, pinned_gpus=w.pin.gpus, gpu_model=layout_model,
        )
        for w in wanted
    ]
    placement, more = place(spec.hosts, demands)
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
    lb_ip = ips.get(role_info(Role.LOAD_BALANCER).stem)
    controllers = [ips[w.name] for w in wanted if w.role is Role.CONTROLLER]
    api_ip = lb_ip or controllers[0]
    hosts = tuple(
        HostPlan(h.name, h.uri, h.pool.name, h.pool.path, h.cpus, h.memory_gib, h.pool.capacity_gib)
        for h in spec.hosts
    )
    network = NetworkPlan(
        name=net.name or cluster, mode=net.mode, bridge=net.bridge, cidr=net.cidr, gateway=gateway,
        prefix_length=net.cidr.prefixlen, mtu=net.mtu, dns_servers=net.dns_servers, domain=spec.cluster.domain,
        api_ip=api_ip, ingress_ip=lb_ip or api_ip, bootstrap_ip=_bootstrap_ip(spec, ips),
    )
    nodes = tuple(
        PlannedNode(
            name=w.name, role=w.role, hostname=hostnames[w.name], fqdn=f"{hostnames[w.name]}.{spec.cluster.domain}",
            domain_name=f"{cluster}-{w.name}", host=placement.host_of[w.name], ip=ips[w.name], mac=macs[w.name],
            vcpu=w.shape.vcpu, memory_mib=int(round(w.shape.memory_gib * 1024)), disk_gib=w.shape.disk_gib,
            firmware=w.shape.firmware,
            data_disks=tuple(DataDiskPlan(d.name, d.size_gib) for d in getattr(w.shape, "data_disks", ())),
            gpus=tuple(GpuAssignment(placement.host_of[w.name], a, m) for a, m in placement.gpus_of.get(w.name, ())),
            mig_layout=gpu_group.mig_layout if role_info(w.role).gpus else None,
        )
        for w in wanted
    )
    plan = ClusterPlan(stack=stack, cluster_name=cluster, domain=spec.cluster.domain, role=spec.cluster.role,
                       hosts=hosts, network=network, nodes=nodes)
    return plan, []

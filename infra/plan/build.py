"""From a validated spec to the machine plan, collecting every cross-field problem on the way."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from infra.catalog import mig_catalogue
from infra.plan import mig
from infra.plan.addresses import host_address, mac_for, usable_host_numbers
from infra.plan.groups import NodeGroupPlan, node_groups
from infra.plan.model import ClusterPlan, DataDiskPlan, GpuAssignment, HostPlan, NetworkPlan, PlannedNode, Role
from infra.plan.placement import Demand, place
from infra.plan.roles import role_info
from infra.spec.cluster import ClusterSpec
from infra.spec.errors import Problem
from infra.spec.nodes import NodePin, SingleNode


@dataclass(frozen=True)
class _Wanted:
    name: str
    group: NodeGroupPlan
    pin: NodePin
    pin_path: str  # config path of the node's pins
    offset: int  # host number in the CIDR unless pinned

    @property
    def role(self) -> Role:
        return self.group.role

    @property
    def path(self) -> str:
        return self.group.path

    @property
    def mig_layout(self) -> str | None:
        return (self.pin.mig_layout or self.group.mig_layout) if role_info(self.role).gpus else None


def _wanted_nodes(groups: list[NodeGroupPlan]) -> tuple[list[_Wanted], list[Problem]]:
    """Every node the groups ask for, each group in index order."""
    wanted: list[_Wanted] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for group in groups:
        for unknown in sorted(set(group.pins) - set(group.names)):
            problems.append(Problem(
                group.pin_paths[unknown], unknown, f"no such node: the group has {len(group.names)} node(s)",
                f"pin one of: {', '.join(group.names) or '(none: count is 0)'}",
            ))
        for i, name in enumerate(group.names):
            if name in seen:
                problems.append(Problem(group.path, name, f"node {name} is also a node of {seen[name]}: node "
                                        "names come from the group's name", "rename the pool"))
                continue
            seen[name] = group.path
            wanted.append(_Wanted(name, group, group.pin(name), group.pin_paths[name], group.offset + i))
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


def _vips(spec: ClusterSpec, wanted: list[_Wanted]) -> dict[str, IPv4Address]:
    """The API and ingress virtual IPs a load-balancer pair holds with keepalived; none for a single balancer."""
    if len([w for w in wanted if w.role is Role.LOAD_BALANCER]) < 2:
        return {}
    net = spec.network
    return {"api VIP": net.api_vip or host_address(net.cidr, net.offsets.api_vip),
            "ingress VIP": net.ingress_vip or host_address(net.cidr, net.offsets.ingress_vip)}


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


def _check_mig(wanted: list[_Wanted]) -> list[Problem]:
    problems = []
    checked: set[tuple[str, str, int]] = set()
    for w in wanted:
        layout = w.mig_layout
        where = f"{w.pin_path}.migLayout" if w.pin.mig_layout else f"{w.path}.migLayout"
        gpus_key = (where, layout, len(w.pin.gpus) if w.pin.gpus is not None else w.group.gpus_per_node)
        if layout is None or gpus_key in checked:
            continue
        checked.add(gpus_key)
        gpus = len(w.pin.gpus) if w.pin.gpus is not None else w.group.gpus_per_node
        reasons = mig.layout_problems(layout, mig_catalogue(), gpus)
        if reasons:
            problems.append(Problem(where, layout, "; ".join(reasons), "pick a layout from infra/data/mig-layouts"
                                    ".yaml made for this GPU model, or fix the layout there"))
    return problems


def _addresses(spec: ClusterSpec, wanted: list[_Wanted], vips: dict[str, IPv4Address]
               ) -> tuple[dict[str, IPv4Address], list[Problem]]:
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
    owner: dict[IPv4Address, str] = {gateway: "the gateway", **{ip: f"the {what}" for what, ip in vips.items()}}
    for what, ip in vips.items():
        if ip not in net.cidr:
            problems.append(Problem(f"eaf:network.{'apiVip' if what.startswith('api') else 'ingressVip'}", str(ip),
                                    f"the {what} is outside {net.cidr}", f"pick a free address inside {net.cidr}"))
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


def _demand(w: _Wanted, layout_models: dict[str, str | None]) -> Demand:
    group = w.group
    return Demand(
        node=w.name, group_path=w.path, pin_path=w.pin_path, role=w.role, vcpu=group.vcpu,
        memory_gib=group.memory_gib, disk_gib=group.disk_gib + sum(d.size_gib for d in group.data_disks),
        gpus_wanted=group.gpus_per_node if role_info(w.role).gpus and w.pin.gpus is None else 0,
        pinned_host=w.pin.host, pinned_gpus=w.pin.gpus, gpu_model=layout_models.get(w.name),
        allowed_hosts=group.hosts)


def _layout_model_problems(wanted: list[_Wanted], layout_models: dict[str, str | None],
                           gpus_of: dict[str, tuple[tuple[str, str], ...]]) -> list[Problem]:
    problems = []
    for w in wanted:
        model = layout_models.get(w.name)
        for address, gpu_model in gpus_of.get(w.name, ()):
            if model is not None and gpu_model != model:
                problems.append(Problem(
                    f"{w.pin_path}.migLayout" if w.pin.mig_layout else f"{w.path}.migLayout", w.mig_layout,
                    f"the layout is for {model}, but {w.name} gets GPU {address}, an {gpu_model}",
                    f"pick a layout made for {gpu_model} in infra/data/mig-layouts.yaml"))
    return problems


def _models_nowhere(wanted: list[_Wanted], layout_models: dict[str, str | None],
                    spec: ClusterSpec) -> list[Problem]:
    """A layout for a GPU model no host has: named at the layout, before placement words it as missing room."""
    on_hosts = sorted({g.model.value for h in spec.hosts for g in h.gpus})
    problems = []
    for w in wanted:
        model = layout_models.get(w.name)
        if model is not None and model not in on_hosts:
            problems.append(Problem(
                f"{w.pin_path}.migLayout" if w.pin.mig_layout else f"{w.path}.migLayout", w.mig_layout,
                f"the layout is for {model}, but no host in eaf:hosts has an {model} "
                f"(their GPUs: {', '.join(on_hosts) or 'none'})",
                f"pick a layout made for {' or '.join(on_hosts) or 'the hosts GPUs'} in infra/data/mig-layouts.yaml"))
            layout_models[w.name] = None
    return problems


def build_plan(spec: ClusterSpec, stack: str) -> tuple[ClusterPlan | None, list[Problem]]:
    wanted, problems = _wanted_nodes(node_groups(spec))
    problems += _check_controller_count(spec) + _check_network(spec) + _check_mig(wanted)
    vips = _vips(spec, wanted)
    ips, more = _addresses(spec, wanted, vips)
    problems += more

    cluster = spec.cluster.name
    pin_path = {w.name: w.pin_path for w in wanted}
    macs = {w.name: w.pin.mac or mac_for(cluster, w.name) for w in wanted}
    hostnames = {w.name: w.pin.hostname or w.name for w in wanted}
    problems += _unique(macs, "MAC address", {n: f"{p}.mac" for n, p in pin_path.items()})
    problems += _unique(hostnames, "hostname", {n: f"{p}.hostname" for n, p in pin_path.items()})

    catalogue = mig_catalogue()
    layout_models = {w.name: mig.layout_model(w.mig_layout, catalogue) if w.mig_layout else None for w in wanted}
    problems += _models_nowhere(wanted, layout_models, spec)
    placement, more = place(spec.hosts, [_demand(w, layout_models) for w in wanted])
    problems += more + _layout_model_problems(wanted, layout_models, placement.gpus_of)
    if problems:
        return None, problems

    net = spec.network
    gateway = net.gateway or host_address(net.cidr, 1)
    lb_ips = [ips[w.name] for w in wanted if w.role is Role.LOAD_BALANCER]
    controllers = [ips[w.name] for w in wanted if w.role is Role.CONTROLLER]
    api_ip = vips.get("api VIP") or (lb_ips[0] if lb_ips else controllers[0])
    hosts = tuple(
        HostPlan(h.name, h.uri, h.pool.name, h.pool.path, h.cpus, h.memory_gib, h.pool.capacity_gib)
        for h in spec.hosts
    )
    network = NetworkPlan(
        name=net.name or cluster, mode=net.mode, bridge=net.bridge, cidr=net.cidr, gateway=gateway,
        prefix_length=net.cidr.prefixlen, mtu=net.mtu, dns_servers=net.dns_servers, domain=spec.cluster.domain,
        api_ip=api_ip, ingress_ip=vips.get("ingress VIP") or (lb_ips[0] if lb_ips else api_ip),
        bootstrap_ip=_bootstrap_ip(spec, ips), ntp_servers=net.ntp_servers,
    )
    nodes = tuple(
        PlannedNode(
            name=w.name, role=w.role, hostname=hostnames[w.name], fqdn=f"{hostnames[w.name]}.{spec.cluster.domain}",
            domain_name=f"{cluster}-{w.name}", host=placement.host_of[w.name], ip=ips[w.name], mac=macs[w.name],
            vcpu=w.group.vcpu, memory_mib=int(round(w.group.memory_gib * 1024)), disk_gib=w.group.disk_gib,
            firmware=w.group.firmware,
            data_disks=tuple(DataDiskPlan(d.name, d.size_gib) for d in w.group.data_disks),
            gpus=tuple(GpuAssignment(placement.host_of[w.name], a, m) for a, m in placement.gpus_of.get(w.name, ())),
            mig_layout=w.mig_layout, pool=w.group.name, labels=tuple(sorted(w.group.labels.items())),
            taints=tuple((t.key, t.value, t.effect) for t in w.group.taints),
        )
        for w in wanted
    )
    plan = ClusterPlan(stack=stack, cluster_name=cluster, domain=spec.cluster.domain, role=spec.cluster.role,
                       hosts=hosts, network=network, nodes=nodes)
    return plan, []

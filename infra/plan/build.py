"""From a validated spec to the machine plan, collecting every cross-field problem on the way.

Each problem names the field a user would have changed to cause it: a node that does not fit names the group's
vcpu/memoryGiB/diskGiB when no host could hold it at all, and its count when the hosts are merely full; an address
clash names the offset when the stack sets it, else the count of the group whose range runs into the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from infra.catalog import OkdSizing, mig_catalogue, node_sizing
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
    index: int  # position in its group (0 for a single node)
    offset_path: str  # where the group's first address is set: eaf:network.offsets.<key>, or the pool's offset
    offset_set: bool  # the stack sets it (a default offset is nobody's typing)

    @property
    def role(self) -> Role:
        return self.group.role

    @property
    def path(self) -> str:
        return self.group.path

    @property
    def mig_layout(self) -> str | None:
        return (self.pin.mig_layout or self.group.mig_layout) if role_info(self.role).gpus else None


def pin_path(spec: ClusterSpec, node: str) -> str:
    """Where a node's pins live in the config: `eaf:nodes.workers.nodes.worker-1`, `eaf:nodes.bootstrap.pin`."""
    for group in node_groups(spec):
        if node in group.pin_paths:
            return group.pin_paths[node]
    raise KeyError(f"no node {node!r} in the stack's node groups")


def _counts(spec: ClusterSpec) -> list[tuple[str, int]]:
    """(config path, count) of every group of cluster nodes, read from the spec before any name is made."""
    nodes = spec.nodes
    found = [("eaf:nodes.controllers.count", nodes.controllers.count)]
    for key, group in (("workers", nodes.workers), ("gpuWorkers", nodes.gpu_workers)):
        if group is not None:
            found.append((f"eaf:nodes.{key}.count", group.count))
    found += [(f"eaf:nodes.pools.{name}.count", pool.count) for name, pool in nodes.pools.items()]
    return found


def _count_problems(spec: ClusterSpec, sizing: OkdSizing) -> list[Problem]:
    """Groups larger than OKD is tested with: refused before planning (planning a million VMs takes a while)."""
    groups = _counts(spec)
    limit = sizing.max_nodes
    problems = [Problem(path, count, f"more than the {limit} nodes OKD is tested with ({sizing.max_nodes_source})",
                        f"use at most {limit}")
                for path, count in groups if count > limit]
    total = sum(count for _path, count in groups)
    if not problems and total > limit:
        path, count = max(groups, key=lambda g: g[1])
        problems.append(Problem(path, count, f"the cluster would have {total} nodes, more than the {limit} OKD is "
                                f"tested with ({sizing.max_nodes_source})", f"lower it by {total - limit} or more"))
    return problems


def _offset_is_set(spec: ClusterSpec, offset_key: str) -> bool:
    offsets = spec.network.offsets
    return any((field.alias or name) == offset_key and name in offsets.model_fields_set
               for name, field in type(offsets).model_fields.items())


def _offset_of(spec: ClusterSpec, group: NodeGroupPlan) -> tuple[str, bool]:
    """Where the group's first address is set, and whether the stack sets it: a pool's own `offset` (required),
    else the role's key under eaf:network.offsets."""
    if group.path.startswith("eaf:nodes.pools."):
        return f"{group.path}.offset", True
    key = role_info(group.role).offset_key
    return f"eaf:network.offsets.{key}", _offset_is_set(spec, key)


def _wanted_nodes(spec: ClusterSpec, groups: list[NodeGroupPlan]) -> tuple[list[_Wanted], list[Problem]]:
    """Every node the groups ask for, each group in index order."""
    wanted: list[_Wanted] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for group in groups:
        names = group.names
        counted = role_info(group.role).cluster_node or len(names) > 1
        for unknown in sorted(set(group.pins) - set(names)):
            problems.append(Problem(
                group.pin_paths[unknown], unknown,
                f"no such node: the group has count {len(names)}" + (f" ({group.path}.count)" if counted else ""),
                f"pin one of: {', '.join(names[:10]) or '(none: count is 0)'}" + (" ..." if len(names) > 10 else "")
                + (f"; or raise {group.path}.count to include it, or remove the pin" if counted else
                   "; or remove the pin"),
            ))
        offset_path, offset_set = _offset_of(spec, group)
        for i, name in enumerate(group.names):
            if name in seen:
                problems.append(Problem(group.path, name, f"node {name} is also a node of {seen[name]}: node "
                                        "names come from the group's name", "rename the pool"))
                continue
            seen[name] = group.path
            wanted.append(_Wanted(name, group, group.pin(name), group.pin_paths[name], group.offset + i, i,
                                  offset_path, offset_set))
    return wanted, problems


def _bootstrap_ip(spec: ClusterSpec, ips: dict[str, IPv4Address]) -> IPv4Address | None:
    """Where the bootstrap node is, or would be when it is off; None when another node holds that address."""
    info = role_info(Role.BOOTSTRAP)
    if info.stem in ips:
        return ips[info.stem]
    single = spec.nodes.group(info.config_key)
    assert isinstance(single, SingleNode)
    number = spec.network.offsets.start(info.offset_key)
    if single.pin.ip is None and number not in usable_host_numbers(spec.network.cidr):
        return None
    address = single.pin.ip or host_address(spec.network.cidr, number)
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
        problems.append(Problem("eaf:network.bridge", net.bridge, "bridge mode needs the name of the host bridge",
                                "set eaf:network.bridge to the bridge every hypervisor has on the cluster VLAN"))
    if net.first_boot == "static" and net.mode != "bridge":
        problems.append(Problem(
            "eaf:network.firstBoot", net.first_boot,
            f"a {net.mode} network is libvirt's own: its dnsmasq answers every node's MAC with the planned address "
            "(the stack reserves each one), so there is no site DHCP to do without",
            "remove firstBoot (dhcp), or use mode: bridge for a site network without DHCP",
        ))
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
        gpus_field = f"{w.pin_path}.gpus" if w.pin.gpus is not None else f"{w.path}.gpusPerNode"
        reasons = mig.layout_problems(layout, mig_catalogue(), gpus)
        if reasons:
            problems.append(Problem(where, layout, "; ".join(reasons) + f" (its GPUs: {gpus_field})",
                                    "pick a layout from infra/data/mig-layouts.yaml made for this GPU model and "
                                    f"{gpus} GPU(s), or fix the layout there, or change {gpus_field}"))
    return problems


def _minimum_problems(spec: ClusterSpec, wanted: list[_Wanted], minor: str, sizing: OkdSizing) -> list[Problem]:
    """OKD's documented minimum per machine kind (node-sizing.yaml, by the role table's okdMachine), per group."""
    if not spec.okd.install.enabled:
        return []  # no OKD on these VMs (the local stack boots a probe image)
    problems: list[Problem] = []
    seen: set[str] = set()
    for w in wanted:
        machine = role_info(w.role).okd_machine
        if machine is None or machine not in sizing.machines:
            continue
        need = sizing.machines[machine]
        for attr, key, unit in (("vcpu", "vcpu", "vCPU"), ("memory_gib", "memoryGiB", "GiB of RAM"),
                                ("disk_gib", "diskGiB", "GiB of disk")):
            have, minimum = getattr(w.group, attr), getattr(need, attr)
            path = f"{w.path}.{key}"
            if have < minimum and path not in seen:
                seen.add(path)
                problems.append(Problem(path, have, f"OKD {minor} needs at least {minimum:g} {unit} on a {machine} "
                                        f"machine ({sizing.source}), and the stack installs OKD "
                                        "(eaf:okd.install.enabled)", f"set it to {minimum:g} or more"))
    return problems


def _ingress_problems(spec: ClusterSpec, wanted: list[_Wanted]) -> list[Problem]:
    """OKD's routers run on schedulable nodes: the compute roles (role table), or the control plane."""
    if not spec.okd.install.enabled or any(role_info(w.role).compute for w in wanted):
        return []
    if spec.okd.masters_schedulable is False:
        return [Problem("eaf:okd.mastersSchedulable", False, "the cluster has no compute node (workers, GPU workers) "
                        "and the control plane is not schedulable: the ingress routers, and every app, would have "
                        "no node to run on", "set it to true (or remove it: it is then on when there are no compute "
                        "nodes), or set eaf:nodes.workers.count to 2 or more")]
    return []


def _range_path(spec: ClusterSpec, w: _Wanted) -> tuple[str, object]:
    """What to name when an unpinned node's planned address is wrong: its offset when the stack sets it, else its
    group's count when the node is not the group's first (the count made the range run on), else the CIDR."""
    if w.offset_set:
        return w.offset_path, w.offset - w.index
    if w.index > 0:
        return f"{w.path}.count", len(w.group.names)
    return "eaf:network.cidr", str(spec.network.cidr)


def _overlap_path(spec: ClusterSpec, one: _Wanted, other: _Wanted) -> tuple[str, object]:
    """Two planned ranges overlap: name an offset the stack sets (the higher range's first, it was moved down onto
    the other), else the count of the range that starts lower (it ran on into the next)."""
    lower, higher = sorted((one, other), key=lambda w: (w.offset - w.index, w.name))
    for w in (higher, lower):
        if w.offset_set:
            return w.offset_path, w.offset - w.index
    if lower.index > 0 or role_info(lower.role).cluster_node:
        return f"{lower.path}.count", len(lower.group.names)
    return _range_path(spec, one)


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
    reported: set[str] = set()
    for w in wanted:
        if w.pin.ip is None and w.offset not in usable:
            path, value = _range_path(spec, w)
            if path not in reported:
                reported.add(path)
                problems.append(Problem(
                    path, value,
                    f"too small for the nodes: {w.name} needs host number {w.offset} but a /{net.cidr.prefixlen} has "
                    f"only {len(usable)} usable addresses",
                    f"use a larger network (e.g. /{max(net.cidr.prefixlen - 2, 8)}), fewer nodes, or lower "
                    "eaf:network.offsets",
                ))
    # Who holds an address: a node, or the gateway / a VIP (by what it is).
    owner: dict[IPv4Address, _Wanted | str] = {gateway: "the gateway",
                                               **{ip: f"the {what}" for what, ip in vips.items()}}
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
            other = owner[ip]
            holder = other if isinstance(other, str) else other.name
            if pinned:
                path, value = where, str(ip)
            elif isinstance(other, _Wanted) and other.pin.ip is None:
                path, value = _overlap_path(spec, w, other)
            else:
                path, value = _range_path(spec, w)
            problems.append(Problem(
                path, value, f"{w.name} would get {ip}, which {holder} already has",
                "give every node its own address (change the pin, the count, or the offsets so the ranges do not "
                "overlap)",
            ))
            continue
        owner[ip] = w
        ips[w.name] = ip
    return ips, problems


def _unique(values: dict[str, str], what: str, field: str, wanted: dict[str, _Wanted],
            pinned: set[str]) -> list[Problem]:
    """A value two nodes share is reported at the pin that made it (a planned value is never what was typed)."""
    seen: dict[str, str] = {}
    problems = []
    for node, value in values.items():
        if value in seen:
            first = seen[value]
            blame, other = (first, node) if first in pinned and node not in pinned else (node, first)
            problems.append(Problem(
                f"{wanted[blame].pin_path}.{field}", value, f"{blame} has the same {what} as {other}",
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
        root_disk_gib=group.disk_gib, group_count=len(group.names) if role_info(w.role).cluster_node else None,
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


def _gpu_memory_problems(spec: ClusterSpec, wanted: dict[str, _Wanted],
                         gpus_of: dict[str, tuple[tuple[str, str], ...]], sizing: OkdSizing) -> list[Problem]:
    """A GPU node's RAM against its GPUs' memory, where OKD and the GPU operator run on it (the local stack's probe
    image runs neither: its GPU worker is a VM with a device, nothing stages data through it)."""
    if not spec.okd.install.enabled:
        return []
    rule = node_sizing().gpus
    headroom = sizing.machines.get(rule.headroom_machine)
    extra = headroom.memory_gib if headroom is not None else 0.0
    worst: dict[str, tuple[float, str, float]] = {}
    for node, gpus in sorted(gpus_of.items()):
        if not gpus:
            continue
        gpu_memory = sum(rule.memory_gib.get(model, 0.0) for _address, model in gpus)
        need = gpu_memory + extra
        w = wanted[node]
        if w.group.memory_gib < need and need > worst.get(w.path, (0.0, "", 0.0))[0]:
            models = ", ".join(sorted({model for _address, model in gpus}))
            worst[w.path] = (need, f"{node} gets {len(gpus)} GPU(s) ({models}) holding {gpu_memory:g} GiB",
                             w.group.memory_gib)
    return [Problem(f"{path}.memoryGiB", have, f"{what}; a GPU node needs at least its "
                    f"GPUs' memory plus the {extra:g} GiB any compute node needs: {need:g} GiB ({rule.rule})",
                    f"set it to {need:g} or more, or give the nodes fewer GPUs ({path}.gpusPerNode, or their pinned "
                    "gpus)")
            for path, (need, what, have) in sorted(worst.items())]


def build_plan(spec: ClusterSpec, stack: str, okd_release: str | None = None
               ) -> tuple[ClusterPlan | None, list[Problem]]:
    """The machine plan, or every problem found. `okd_release` picks OKD's documented minimums (default: the
    catalogue's default release)."""
    from infra.catalog import versions

    minor, sizing = node_sizing().for_release(okd_release or versions().okd.default)
    if sizing is None:
        minor, sizing = node_sizing().for_release(versions().okd.default)
    assert sizing is not None, "infra/data/node-sizing.yaml has no entry for the default OKD release"
    problems = _count_problems(spec, sizing)
    if problems:
        return None, problems + _check_controller_count(spec)
    wanted, problems = _wanted_nodes(spec, node_groups(spec))
    problems += _check_controller_count(spec) + _check_network(spec) + _check_mig(wanted)
    problems += _minimum_problems(spec, wanted, minor, sizing) + _ingress_problems(spec, wanted)
    vips = _vips(spec, wanted)
    ips, more = _addresses(spec, wanted, vips)
    problems += more

    cluster = spec.cluster.name
    by_name = {w.name: w for w in wanted}
    macs = {w.name: w.pin.mac or mac_for(cluster, w.name) for w in wanted}
    hostnames = {w.name: w.pin.hostname or w.name for w in wanted}
    problems += _unique(macs, "MAC address", "mac", by_name, {w.name for w in wanted if w.pin.mac})
    problems += _unique(hostnames, "hostname", "hostname", by_name, {w.name for w in wanted if w.pin.hostname})

    catalogue = mig_catalogue()
    layout_models = {w.name: mig.layout_model(w.mig_layout, catalogue) if w.mig_layout else None for w in wanted}
    problems += _models_nowhere(wanted, layout_models, spec)
    placement, more = place(spec.hosts, [_demand(w, layout_models) for w in wanted])
    problems += more + _layout_model_problems(wanted, layout_models, placement.gpus_of)
    problems += _gpu_memory_problems(spec, by_name, placement.gpus_of, sizing)
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
        bootstrap_ip=_bootstrap_ip(spec, ips), ntp_servers=net.ntp_servers, first_boot=net.first_boot,
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

"""Place VMs on hypervisor hosts: capacity, controller anti-affinity, GPUs. Deterministic for a given spec."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.plan.model import Role
from infra.plan.roles import role_info
from infra.spec.errors import Problem
from infra.spec.hosts import Host


@dataclass(frozen=True)
class Demand:
    """What one VM needs from a host, and what the spec pinned for it."""

    node: str
    group_path: str  # config path of its group, for messages, e.g. "eaf:nodes.workers"
    pin_path: str  # config path of its pins, e.g. "eaf:nodes.workers.nodes.worker-1"
    role: Role
    vcpu: int
    memory_gib: float
    disk_gib: int  # root disk and data disks
    root_disk_gib: int | None = None
    gpus_wanted: int = 0
    pinned_host: str | None = None
    pinned_gpus: tuple[str, ...] | None = None
    gpu_model: str | None = None  # for GPU workers with a MIG layout: the model the layout is for
    allowed_hosts: tuple[str, ...] = ()  # the pool's hosts; empty: any host
    group_count: int | None = None  # the group's count (None for a single node)


@dataclass
class _Free:
    cpus: int
    memory_gib: float
    disk_gib: int
    gpus: list[tuple[str, str]] = field(default_factory=list)  # (address, model), in host order
    counts: dict[Role, int] = field(default_factory=dict)  # role -> VMs of that role placed here
    used: dict[Role, tuple[int, float]] = field(default_factory=dict)  # role -> (vCPU, GiB) its VMs take here


@dataclass(frozen=True)
class Placement:
    host_of: dict[str, str]
    gpus_of: dict[str, tuple[tuple[str, str], ...]]  # node -> ((address, model), ...)


def _fits(free: _Free, demand: Demand) -> bool:
    return free.cpus >= demand.vcpu and free.memory_gib >= demand.memory_gib and free.disk_gib >= demand.disk_gib


def _take(free: _Free, demand: Demand) -> None:
    free.cpus -= demand.vcpu
    free.memory_gib -= demand.memory_gib
    free.disk_gib -= demand.disk_gib
    free.counts[demand.role] = free.counts.get(demand.role, 0) + 1
    cpus, memory = free.used.get(demand.role, (0, 0.0))
    free.used[demand.role] = (cpus + demand.vcpu, memory + demand.memory_gib)


def _share_after(host: Host, free: _Free, demand: Demand) -> float:
    """The larger of the vCPU and RAM shares of `host` that the demand's role would hold with the demand placed.
    Spreading by this share fills hosts in proportion to their size. It depends only on the nodes of the same role
    placed before (index order), so adding the next node of a group never moves an earlier one."""
    cpus, memory = free.used.get(demand.role, (0, 0.0))
    return max((cpus + demand.vcpu) / host.cpus, (memory + demand.memory_gib) / host.memory_gib)


_DESCRIBED_HOSTS = 8


def _describe(hosts: tuple[Host, ...], free: dict[str, _Free]) -> str:
    text = "; ".join(
        f"{h.name}: {free[h.name].cpus} vCPU, {free[h.name].memory_gib:g} GiB RAM, "
        f"{free[h.name].disk_gib} GiB disk, {len(free[h.name].gpus)} free GPU(s)"
        for h in hosts[:_DESCRIBED_HOSTS]
    )
    return text + (f"; and {len(hosts) - _DESCRIBED_HOSTS} more host(s)" if len(hosts) > _DESCRIBED_HOSTS else "")


def _gpu_fix(hosts: tuple[Host, ...], demand: Demand) -> str:
    """Where the GPUs a node wants would be listed: each host's `gpus` (the field a user may just have emptied)."""
    listed = "; ".join(
        f"eaf:hosts[{i}].gpus ({h.name}) lists {len([g for g in h.gpus if demand.gpu_model in (None, g.model.value)])}"
        for i, h in enumerate(hosts[:_DESCRIBED_HOSTS]))
    return (f"lower gpusPerNode, or list {demand.gpus_wanted} GPU(s)"
            f"{' of model ' + demand.gpu_model if demand.gpu_model else ''} on one host: {listed}")


def _too_big_for(hosts: tuple[Host, ...], demand: Demand) -> tuple[str, object] | None:
    """The node's own setting no host of `hosts` could hold even empty (group key, value), if there is one."""
    short: dict[str, int] = {}
    for h in hosts:
        if demand.vcpu > h.cpus:
            short["vcpu"] = short.get("vcpu", 0) + 1
        if demand.memory_gib > h.memory_gib:
            short["memoryGiB"] = short.get("memoryGiB", 0) + 1
        if demand.disk_gib > h.pool.capacity_gib:
            root_fits = demand.root_disk_gib is not None and demand.root_disk_gib <= h.pool.capacity_gib
            key = "dataDisks" if root_fits else "diskGiB"
            short[key] = short.get(key, 0) + 1
    fits_somewhere = any(demand.vcpu <= h.cpus and demand.memory_gib <= h.memory_gib
                         and demand.disk_gib <= h.pool.capacity_gib for h in hosts)
    if fits_somewhere or not short:
        if demand.gpus_wanted and all(
                len([g for g in h.gpus if demand.gpu_model in (None, g.model.value)]) < demand.gpus_wanted
                for h in hosts):
            return "gpusPerNode", demand.gpus_wanted
        return None
    key = max(short, key=lambda k: (short[k], k == "vcpu"))
    values = {"vcpu": demand.vcpu, "memoryGiB": demand.memory_gib, "diskGiB": demand.root_disk_gib or
              demand.disk_gib, "dataDisks": demand.disk_gib - (demand.root_disk_gib or 0)}
    return key, values[key]


def _blame(hosts: tuple[Host, ...], demand: Demand, free: dict[str, _Free], first: bool,
           earlier: tuple[str, str, object] | None) -> tuple[str, object]:
    """The field to name when a node finds no room: its own size when no host could hold it even empty; the field
    an earlier node of another group was refused for (that overflow crowds out the rest); its own size when it is
    the first of its group that does not fit; else its group's count (the nodes before it took the room)."""
    too_big = _too_big_for(hosts, demand)
    if too_big is not None:
        return f"{demand.group_path}.{too_big[0]}", too_big[1]
    if earlier is not None and earlier[0] != demand.group_path:
        return earlier[1], earlier[2]
    if first or demand.group_count is None:
        short = {"vcpu": sum(free[h.name].cpus < demand.vcpu for h in hosts),
                 "memoryGiB": sum(free[h.name].memory_gib < demand.memory_gib for h in hosts),
                 "diskGiB": sum(free[h.name].disk_gib < demand.disk_gib for h in hosts)}
        key = max(short, key=lambda k: (short[k], k == "vcpu"))
        if short[key]:
            value = {"vcpu": demand.vcpu, "memoryGiB": demand.memory_gib, "diskGiB": demand.disk_gib}[key]
            return f"{demand.group_path}.{key}", value
    if demand.group_count is not None:
        return f"{demand.group_path}.count", demand.group_count
    return demand.group_path, demand.node


def place(hosts: tuple[Host, ...], demands: list[Demand]) -> tuple[Placement, list[Problem]]:
    """Assign every demand a host (and GPUs). Pinned nodes first, then the rest in the role table's placement rank
    (GPU workers, controllers, the load balancer, workers, the bootstrap node)."""
    problems: list[Problem] = []
    free = {
        h.name: _Free(h.cpus, float(h.memory_gib), h.pool.capacity_gib, [(g.address, g.model.value) for g in h.gpus])
        for h in hosts
    }
    order = {h.name: i for i, h in enumerate(hosts)}
    host_of: dict[str, str] = {}
    gpus_of: dict[str, tuple[tuple[str, str], ...]] = {}
    gpu_owner: dict[tuple[str, str], str] = {}

    def claim_gpus(demand: Demand, host: str, addresses: tuple[str, ...]) -> None:
        available = dict(free[host].gpus)
        taken = []
        for address in addresses:
            key = (host, address)
            if key in gpu_owner:
                problems.append(Problem(
                    f"{demand.pin_path}.gpus", address,
                    f"GPU {address} on host {host} is already given to {gpu_owner[key]}; "
                    "a PCI device can be passed through to one VM only",
                    "give each GPU to exactly one node",
                ))
                continue
            if address not in available:
                known = ", ".join(a for a, _ in [*free[host].gpus]) or "none free"
                problems.append(Problem(
                    f"{demand.pin_path}.gpus", address,
                    f"host {host} has no GPU at PCI address {address}",
                    f"use one of the GPUs listed under eaf:hosts[{order[host]}].gpus for {host} ({known}), or pin "
                    "the node to the host that has this device",
                ))
                continue
            gpu_owner[key] = demand.node
            taken.append((address, available[address]))
        free[host].gpus = [g for g in free[host].gpus if g[0] not in {a for a, _ in taken}]
        gpus_of[demand.node] = tuple(taken)

    def settle(demand: Demand, host: str) -> None:
        if not _fits(free[host], demand):
            the_host = tuple(h for h in hosts if h.name == host)
            too_big = _too_big_for(the_host, demand)
            path, value = ((f"{demand.group_path}.{too_big[0]}", too_big[1]) if too_big is not None
                           else (f"{demand.pin_path}.host", host))
            problems.append(Problem(
                path, value,
                f"{demand.node} ({demand.vcpu} vCPU, {demand.memory_gib:g} GiB RAM, {demand.disk_gib} GiB disk) "
                f"does not fit on host {host}: free {_describe(the_host, free)}",
                "lower the group's vcpu/memoryGiB/diskGiB or count, or pin the node to a host with room",
            ))
        _take(free[host], demand)
        host_of[demand.node] = host

    # 1. Pinned nodes keep their host.
    for demand in demands:
        if demand.pinned_host is None:
            continue
        if demand.pinned_host not in free:
            problems.append(Problem(
                f"{demand.pin_path}.host", demand.pinned_host,
                "no such host in eaf:hosts", f"use one of: {', '.join(h.name for h in hosts)}",
            ))
            continue
        settle(demand, demand.pinned_host)
        if demand.pinned_gpus:
            claim_gpus(demand, demand.pinned_host, demand.pinned_gpus)
    for demand in demands:
        if demand.pinned_gpus and demand.pinned_host is None:
            problems.append(Problem(
                f"{demand.pin_path}.gpus", list(demand.pinned_gpus),
                "GPUs are pinned but the node's host is not; PCI addresses only mean something on one host",
                f"also set {demand.pin_path}.host",
            ))

    # 2. The rest, most constrained first. Sort keys end in the host's position in eaf:hosts, so ties are stable.
    # A node is placed only after the nodes it must not move: the load balancer before the workers (so a worker
    # count change never moves it to a freed host), the bootstrap node last (so removing it after the install moves
    # nothing), and within a group in index order (worker-10 after worker-9, not after worker-1), so adding or
    # removing the last nodes of a group leaves every other node where it was.
    position = {d.node: i for i, d in enumerate(demands)}
    pending = sorted(
        (d for d in demands if d.pinned_host is None and d.node not in host_of),
        key=lambda d: (role_info(d.role).placement_rank, position[d.node]),
    )
    one_host_each_applies = len(hosts) >= 3
    # Hosts a pool names in its `hosts` are that pool's: other nodes go there only when nowhere else has room.
    pool_hosts = {h for d in demands for h in d.allowed_hosts}
    placed_groups = {d.group_path for d in demands if d.node in host_of}
    first_refusal: tuple[str, str, object] | None = None  # (group, path, value) of the first node without room
    for demand in pending:
        info = role_info(demand.role)
        candidates = [h for h in hosts if _fits(free[h.name], demand)
                      and (not demand.allowed_hosts or h.name in demand.allowed_hosts)]
        if demand.gpus_wanted:
            candidates = [
                h for h in candidates
                if len([g for g in free[h.name].gpus if demand.gpu_model in (None, g[1])]) >= demand.gpus_wanted
            ]
        one_each = info.one_host_each and one_host_each_applies
        if one_each:
            candidates = [h for h in candidates if free[h.name].counts.get(demand.role, 0) == 0]
        if not demand.gpus_wanted:
            # Keep GPU hosts for GPU workers when a plain host can take the VM. Applied last: a controller that can
            # only go to a GPU host (the plain ones hold a controller already) goes there rather than nowhere.
            plain = [h for h in candidates if not h.gpus]
            candidates = plain or candidates
        if not demand.allowed_hosts:
            shared = [h for h in candidates if h.name not in pool_hosts]
            candidates = shared or candidates
        if not candidates:
            needs = ["room for it"]
            if demand.gpus_wanted:
                needs.append(f"{demand.gpus_wanted} free GPU(s)")
            if one_each:
                needs.append(f"no {demand.role.value} yet ({demand.role.value}s go on different hosts when there are "
                             "3 or more)")
            path, value = _blame(hosts, demand, free, demand.group_path not in placed_groups, first_refusal)
            first_refusal = first_refusal or (demand.group_path, path, value)
            problems.append(Problem(
                path, value,
                f"{demand.node} ({demand.vcpu} vCPU, {demand.memory_gib:g} GiB RAM, {demand.disk_gib} GiB disk) "
                f"needs a host with {' and '.join(needs)}, and none has: free {_describe(hosts, free)}",
                _gpu_fix(hosts, demand) if path.endswith(".gpusPerNode") else
                "lower the group's count, vcpu, memoryGiB or diskGiB, or add a host to eaf:hosts",
            ))
            continue
        # Spread each role over the hosts by the share of each host it takes, ties to the host listed first. Not
        # "most free memory": that makes a node's host depend on every other node's size, so adding a worker or
        # dropping the bootstrap node would move (= replace) unrelated VMs. Capacity still decides through
        # `candidates`.
        best = min(candidates, key=lambda h: (_share_after(h, free[h.name], demand), order[h.name]))
        placed_groups.add(demand.group_path)
        settle(demand, best.name)
        if demand.gpus_wanted:
            matching = [a for a, model in free[best.name].gpus if demand.gpu_model in (None, model)]
            claim_gpus(demand, best.name, tuple(matching[: demand.gpus_wanted]))
    return Placement(host_of, gpus_of), problems

"""Every group of nodes a spec asks for, in one shape: the one place that reads `eaf:nodes`.

The load balancer(s), the bootstrap node, the controllers, and the worker pools: `workers` (the pool `worker`),
`gpuWorkers` (the pool `gpu`) and every pool under `eaf:nodes.pools`. The planner places, addresses and names nodes
group by group without knowing where a group came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.plan.model import Role
from infra.plan.roles import role_info
from infra.spec.cluster import ClusterSpec
from infra.spec.nodes import DataDisk, GpuNodeGroup, NodeGroup, NodePin, SingleNode, Taint, WorkerPool


@dataclass(frozen=True)
class NodeGroupPlan:
    name: str  # the pool's name; for the fixed groups the role table's stem
    role: Role
    path: str  # config path of the group, e.g. eaf:nodes.pools.a100
    names: tuple[str, ...]  # node names, in index order
    offset: int  # host number of the first node's address
    vcpu: int
    memory_gib: float
    disk_gib: int
    firmware: str
    data_disks: tuple[DataDisk, ...] = ()
    pins: dict[str, NodePin] = field(default_factory=dict)
    pin_paths: dict[str, str] = field(default_factory=dict)  # node -> config path of its pins
    hosts: tuple[str, ...] = ()  # allowed hosts; empty: any
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    gpus_per_node: int = 0
    mig_layout: str | None = None

    def pin(self, node: str) -> NodePin:
        return self.pins.get(node, NodePin())


def _group(spec: ClusterSpec, role: Role, shape: NodeGroup | WorkerPool, name: str, path: str, offset: int,
           **extra: object) -> NodeGroupPlan:
    names = tuple(f"{name}-{i}" for i in range(shape.count))
    return NodeGroupPlan(
        name=name, role=role, path=path, names=names, offset=offset, vcpu=shape.vcpu, memory_gib=shape.memory_gib,
        disk_gib=shape.disk_gib, firmware=extra.pop("firmware", shape.firmware), data_disks=shape.data_disks,
        pins=dict(shape.nodes), pin_paths={n: f"{path}.nodes.{n}" for n in (*names, *shape.nodes)}, **extra)


def _load_balancers(spec: ClusterSpec) -> list[NodeGroupPlan]:
    lbs = spec.nodes.load_balancer
    info = role_info(Role.LOAD_BALANCER)
    path = f"eaf:nodes.{info.config_key}"
    if not lbs.enabled:
        return []
    names = (info.stem,) if lbs.count == 1 else tuple(f"{info.stem}-{i}" for i in range(lbs.count))
    pins = dict(lbs.nodes)
    pin_paths = {n: f"{path}.nodes.{n}" for n in (*names, *lbs.nodes)}
    if lbs.count == 1 and lbs.pin != NodePin() and info.stem not in pins:
        pins[info.stem] = lbs.pin
        pin_paths[info.stem] = f"{path}.pin"
    return [NodeGroupPlan(name=info.stem, role=Role.LOAD_BALANCER, path=path, names=names,
                          offset=spec.network.offsets.start(info.offset_key), vcpu=lbs.vcpu,
                          memory_gib=lbs.memory_gib, disk_gib=lbs.disk_gib, firmware=lbs.firmware, pins=pins,
                          pin_paths=pin_paths)]


def _single(spec: ClusterSpec, role: Role) -> list[NodeGroupPlan]:
    info = role_info(role)
    node = spec.nodes.group(info.config_key)
    assert isinstance(node, SingleNode)
    if not node.enabled:
        return []
    path = f"eaf:nodes.{info.config_key}"
    return [NodeGroupPlan(name=info.stem, role=role, path=path, names=(info.stem,),
                          offset=spec.network.offsets.start(info.offset_key), vcpu=node.vcpu,
                          memory_gib=node.memory_gib, disk_gib=node.disk_gib, firmware=node.firmware,
                          pins={info.stem: node.pin}, pin_paths={info.stem: f"{path}.pin"})]


def _fixed_pool(spec: ClusterSpec, role: Role) -> list[NodeGroupPlan]:
    """`workers` / `gpuWorkers`: the pools named by the role table's stem, at the role's offset."""
    info = role_info(role)
    shape = spec.nodes.group(info.config_key)
    if shape is None:
        return []
    assert isinstance(shape, NodeGroup)
    extra: dict[str, object] = {}
    if isinstance(shape, GpuNodeGroup):
        extra = {"gpus_per_node": shape.gpus_per_node, "mig_layout": shape.mig_layout}
    return [_group(spec, role, shape, info.stem, f"eaf:nodes.{info.config_key}",
                   spec.network.offsets.start(info.offset_key), **extra)]


def node_groups(spec: ClusterSpec) -> list[NodeGroupPlan]:
    """Every group, in planning order: load balancer(s), bootstrap, controllers, then the worker pools."""
    groups = [*_load_balancers(spec), *_single(spec, Role.BOOTSTRAP)]
    controllers = spec.nodes.controllers
    info = role_info(Role.CONTROLLER)
    groups.append(_group(spec, Role.CONTROLLER, controllers, info.stem, f"eaf:nodes.{info.config_key}",
                         spec.network.offsets.start(info.offset_key)))
    groups += _fixed_pool(spec, Role.WORKER) + _fixed_pool(spec, Role.GPU_WORKER)
    for name, pool in spec.nodes.pools.items():
        role = Role(pool.role)
        gpu = role_info(role).gpus
        groups.append(_group(spec, role, pool, name, f"eaf:nodes.pools.{name}", pool.offset,
                             firmware=pool.boot_firmware, hosts=pool.hosts, labels=dict(pool.labels),
                             taints=pool.taints, gpus_per_node=pool.gpus_per_node if gpu else 0,
                             mig_layout=pool.mig_layout if gpu else None))
    return groups

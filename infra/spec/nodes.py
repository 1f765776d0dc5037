"""Node groups: controllers, worker pools (plain and GPU), the load balancer(s) and the bootstrap VM.

`workers` and `gpuWorkers` are the two pools every stack had before pools existed: they stay, planned exactly as a
pool named `worker` and one named `gpu` (same node names, addresses, MACs), so moving them under `pools:` replaces
nothing."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Literal

from pydantic import Field, model_validator

from infra.spec.base import DnsLabel, MacAddress, PciAddress, Strict

Firmware = Literal["bios", "uefi"]


class DataDisk(Strict):
    name: DnsLabel
    size_gib: int = Field(alias="sizeGiB", gt=0)


class NodePin(Strict):
    """Per-node settings that override what the planner would choose (keyed by node name, e.g. `worker-1`)."""

    host: DnsLabel | None = None
    ip: IPv4Address | None = None
    mac: MacAddress | None = None
    hostname: DnsLabel | None = None
    gpus: tuple[PciAddress, ...] | None = None
    mig_layout: str | None = Field(None, description="GPU workers: this node's MIG layout (infra/data/mig-layouts"
                                   ".yaml), instead of its pool's")


class Shape(Strict):
    vcpu: int = Field(gt=0)
    memory_gib: float = Field(alias="memoryGiB", gt=0, description="may be fractional: 0.5 = 512 MiB")
    disk_gib: int = Field(alias="diskGiB", gt=0)
    firmware: Firmware = "bios"


class NodeGroup(Shape):
    count: int = Field(ge=0, description="number of VMs; nodes are named <stem>-0 .. <stem>-(count-1)")
    data_disks: tuple[DataDisk, ...] = Field((), description="extra disks per node (qcow2 in the host's pool)")
    nodes: dict[str, NodePin] = Field({}, description="per-node pins keyed by node name, e.g. worker-1")


class GpuNodeGroup(NodeGroup):
    gpus_per_node: int = Field(1, ge=1, description="GPUs the planner assigns to each node that pins none")
    mig_layout: str | None = Field(None, description="a layout name from infra/data/mig-layouts.yaml")
    firmware: Firmware = "uefi"  # A100 BARs are too large to map under SeaBIOS


class Taint(Strict):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class WorkerPool(NodeGroup):
    """A named group of workers (`eaf:nodes.pools.<name>`): nodes <name>-0 .. <name>-(count-1), one shape, its own
    address range, optionally its own hosts, and the Kubernetes labels and taints its nodes get."""

    role: Literal["worker", "gpu-worker"] = Field("worker", description="gpu-worker: GPUs are passed through")
    offset: int = Field(ge=2, description="host number in eaf:network.cidr where the pool's addresses start")
    hosts: tuple[DnsLabel, ...] = Field((), description="place the pool's nodes only on these hosts (default: any)")
    labels: dict[str, str] = Field({}, description="Kubernetes labels of the pool's nodes (set after they join)")
    taints: tuple[Taint, ...] = Field((), description="Kubernetes taints of the pool's nodes (set after they join)")
    gpus_per_node: int = Field(1, ge=1, description="gpu-worker: GPUs for each node that pins none")
    mig_layout: str | None = Field(None, description="gpu-worker: a layout of infra/data/mig-layouts.yaml")
    firmware: Firmware | None = Field(None, description="default: uefi for GPU workers (A100 BARs are too large "
                                      "for SeaBIOS), bios otherwise")

    @model_validator(mode="after")
    def _gpu_settings_need_gpus(self) -> WorkerPool:
        if self.role == "worker" and self.mig_layout is not None:
            raise ValueError("migLayout is for role gpu-worker: a plain worker pool has no GPUs to cut")
        return self

    @property
    def boot_firmware(self) -> Firmware:
        return self.firmware or ("uefi" if self.role == "gpu-worker" else "bios")


class SingleNode(Shape):
    enabled: bool = Field(True, description="bootstrap: switch off after bootstrap-complete to remove the VM")
    pin: NodePin = NodePin()


class LoadBalancers(Shape):
    """The API/ingress load balancer VMs: one (node `lb`), or a pair (`lb-0`, `lb-1`) on different hosts that hold
    the API and ingress addresses as keepalived virtual IPs (eaf:network.vips)."""

    enabled: bool = Field(True, description="false: the site provides the load balancer (none is created)")
    count: Literal[1, 2] = Field(1, description="2: a pair with keepalived VIPs; one balancer's host may fail")
    nodes: dict[str, NodePin] = Field({}, description="per-node pins keyed by node name (lb, or lb-0 / lb-1)")
    pin: NodePin = Field(NodePin(), description="the single balancer's pins (count 1), same as nodes.lb")


class Nodes(Strict):
    controllers: NodeGroup
    workers: NodeGroup | None = Field(None, description="the worker pool named `worker` (nodes worker-0, ...)")
    gpu_workers: GpuNodeGroup | None = Field(None, description="the GPU worker pool named `gpu` (nodes gpu-0, ...)")
    pools: dict[DnsLabel, WorkerPool] = Field({}, description="more worker pools, by name")
    bootstrap: SingleNode
    load_balancer: LoadBalancers

    def group(self, config_key: str) -> NodeGroup | SingleNode:
        """The group under `eaf:nodes.<config_key>` (the role table names each role's key)."""
        for name, field in type(self).model_fields.items():
            if (field.alias or name) == config_key:
                return getattr(self, name)
        raise KeyError(f"eaf:nodes has no group {config_key!r}")

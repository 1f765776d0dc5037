"""Node groups: controllers, workers, GPU workers, and the single bootstrap and load-balancer VMs."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Literal

from pydantic import Field

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


class SingleNode(Shape):
    enabled: bool = Field(True, description="bootstrap: switch off after bootstrap-complete to remove the VM")
    pin: NodePin = NodePin()


class Nodes(Strict):
    controllers: NodeGroup
    workers: NodeGroup
    gpu_workers: GpuNodeGroup
    bootstrap: SingleNode
    load_balancer: SingleNode

    def group(self, config_key: str) -> NodeGroup | SingleNode:
        """The group under `eaf:nodes.<config_key>` (the role table names each role's key)."""
        for name, field in type(self).model_fields.items():
            if (field.alias or name) == config_key:
                return getattr(self, name)
        raise KeyError(f"eaf:nodes has no group {config_key!r}")

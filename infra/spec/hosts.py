"""Hypervisor hosts: where the VMs run."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from infra.spec.base import DnsLabel, PciAddress, Strict
from infra.spec.libvirt_uri import parse_libvirt_uri


class GpuModel(StrEnum):
    A100_40GB = "A100-40GB"
    A100_80GB = "A100-80GB"


class HostGpu(Strict):
    address: PciAddress = Field(description="PCI address on the host, e.g. 0000:17:00.0 (lspci -D)")
    model: GpuModel


class StoragePool(Strict):
    name: DnsLabel
    path: str
    capacity_gib: int = Field(alias="capacityGiB", gt=0)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path on the hypervisor, e.g. /var/lib/libvirt/eaf")
        return value


class Host(Strict):
    name: DnsLabel = Field(description="short host name, used in node pins and the placement table")
    uri: str = Field(description="libvirt URI: qemu+ssh://user@host/system, or qemu:///system for this machine")
    cpus: int = Field(gt=0, description="vCPUs the cluster may use on this host")
    memory_gib: int = Field(alias="memoryGiB", gt=0, description="RAM the cluster may use on this host")
    pool: StoragePool = Field(description="the dir storage pool holding the OS image and every VM disk")
    gpus: tuple[HostGpu, ...] = Field((), description="GPUs that may be passed through, by PCI address")

    @field_validator("uri")
    @classmethod
    def _libvirt_uri(cls, value: str) -> str:
        parse_libvirt_uri(value)  # raises UriError (a ValueError) saying what libvirt would make of it
        return value

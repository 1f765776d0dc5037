"""The one small interface both libvirt backends implement. Nothing above infra/libvirt sees a backend."""

from __future__ import annotations

from typing import Protocol

import pulumi

from infra.libvirt.model import BaseImageDef, DomainDef, IgnitionDef, NetworkDef, PoolDef, ReservationDef, VolumeDef


class LibvirtBackend(Protocol):
    """Creates one libvirt object per call, as a child of `parent`, on the hypervisor the definition names."""

    name: str

    def pool(self, pool: PoolDef, parent: pulumi.Resource) -> pulumi.Resource: ...

    def base_image(self, image: BaseImageDef, pool: pulumi.Resource, parent: pulumi.Resource) -> pulumi.Resource: ...

    def network(self, network: NetworkDef, parent: pulumi.Resource) -> pulumi.Resource: ...

    def volume(self, volume: VolumeDef, pool: pulumi.Resource, base_image: pulumi.Resource,
               parent: pulumi.Resource) -> pulumi.Resource: ...

    def ignition(self, ignition: IgnitionDef, content: pulumi.Input[str], pool: pulumi.Resource,
                 parent: pulumi.Resource) -> pulumi.Resource: ...

    def reservation(self, reservation: ReservationDef, network: pulumi.Resource,
                    parent: pulumi.Resource) -> pulumi.Resource | None:
        """A node's DHCP reservation + DNS record on a nat/route network; None where the backend makes it part of
        the domain (pulumi-libvirt does, from the domain's network interface)."""
        ...

    def domain(self, domain: DomainDef, depends_on: list[pulumi.Resource],
               parent: pulumi.Resource) -> pulumi.Resource: ...


def backend_named(name: str) -> LibvirtBackend:
    """Import only the backend in use: pulumi_libvirt is never imported by a native stack, nor libvirt by a
    provider stack."""
    if name == "native":
        from infra.libvirt.native.backend import NativeBackend

        return NativeBackend()
    if name == "provider":
        from infra.libvirt.provider.backend import ProviderBackend

        return ProviderBackend()
    raise ValueError(f"unknown libvirt backend {name!r}")

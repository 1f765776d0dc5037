"""The native backend: libvirt-python dynamic providers fed with XML rendered from the shared templates."""

from __future__ import annotations

import pulumi

from infra.libvirt.model import BaseImageDef, DomainDef, IgnitionDef, NetworkDef, PoolDef, ReservationDef, VolumeDef
from infra.libvirt.native import props, providers
from infra.libvirt.native.resources import (
    LibvirtBaseImage,
    LibvirtDomain,
    LibvirtIgnition,
    LibvirtNetwork,
    LibvirtPool,
    LibvirtReservation,
    LibvirtVolume,
)


class NativeBackend:
    name = "native"

    def __init__(self) -> None:
        # Volume and domain XML name files by their path in the pool, and reservations need their network's
        # records: the backend keeps each host's pool and network definitions as it creates them.
        self._pools: dict[tuple[str, str], PoolDef] = {}
        self._networks: dict[str, NetworkDef] = {}

    def _pool_of(self, host: str, pool: str) -> PoolDef:
        try:
            return self._pools[(host, pool)]
        except KeyError:
            raise ValueError(f"host {host}: pool {pool!r} is used before it was declared") from None

    def pool(self, pool: PoolDef, parent: pulumi.Resource) -> pulumi.Resource:
        self._pools[(pool.host, pool.name)] = pool
        return LibvirtPool(providers.PoolProvider(), f"{pool.host}-pool-{pool.name}", props.pool_props(pool),
                             pulumi.ResourceOptions(parent=parent))

    def base_image(self, image: BaseImageDef, pool: pulumi.Resource, parent: pulumi.Resource) -> pulumi.Resource:
        uri = self._pool_of(image.host, image.pool).uri
        return LibvirtBaseImage(providers.BaseImageProvider(), f"{image.host}-image-{image.name}",
                             props.base_image_props(image, uri),
                             pulumi.ResourceOptions(parent=parent, depends_on=[pool]))

    def network(self, network: NetworkDef, parent: pulumi.Resource) -> pulumi.Resource:
        self._networks[network.host] = network
        return LibvirtNetwork(providers.NetworkProvider(), f"{network.host}-network-{network.name}",
                             props.network_props(network), pulumi.ResourceOptions(parent=parent))

    def reservation(self, reservation: ReservationDef, network: pulumi.Resource,
                    parent: pulumi.Resource) -> pulumi.Resource:
        inputs = props.reservation_props(reservation, self._networks[reservation.host], network.id)
        return LibvirtReservation(providers.ReservationProvider(), f"{reservation.host}-reservation-{reservation.node}",
                             inputs, pulumi.ResourceOptions(parent=parent, depends_on=[network]))

    def volume(self, volume: VolumeDef, pool: pulumi.Resource, base_image: pulumi.Resource,
               parent: pulumi.Resource) -> pulumi.Resource:
        depends = [pool, base_image] if volume.backing else [pool]
        # protect: Pulumi itself refuses to delete or replace it; the provider refuses as well (state flag).
        return LibvirtVolume(providers.VolumeProvider(), f"{volume.host}-volume-{volume.name}",
                             props.volume_props(volume, self._pool_of(volume.host, volume.pool)),
                             pulumi.ResourceOptions(parent=parent, depends_on=depends, protect=volume.protect))

    def ignition(self, ignition: IgnitionDef, content: pulumi.Input[str], pool: pulumi.Resource,
                 parent: pulumi.Resource) -> pulumi.Resource:
        uri = self._pool_of(ignition.host, ignition.pool).uri
        # The content stays as secret as it came (bootstrap's holds the pull secret); it is never an output.
        return LibvirtIgnition(providers.IgnitionProvider(), f"{ignition.host}-ignition-{ignition.name}",
                             props.ignition_props(ignition, uri, content),
                             pulumi.ResourceOptions(parent=parent, depends_on=[pool],
                                                    additional_secret_outputs=["content"]))

    def domain(self, domain: DomainDef, depends_on: list[pulumi.Resource],
               parent: pulumi.Resource) -> pulumi.Resource:
        return LibvirtDomain(providers.DomainProvider(), f"{domain.host}-domain-{domain.name}",
                             props.domain_props(domain, self._pool_of(domain.host, domain.pool)),
                             pulumi.ResourceOptions(parent=parent, depends_on=depends_on))

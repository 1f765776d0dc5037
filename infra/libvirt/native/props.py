"""The inputs of each dynamic resource: plain data (rendered XML + a few fields) built from the model.

The backend registers exactly these; the provider tests feed the same dicts to the providers directly.
"""

from __future__ import annotations

from typing import Any

from infra.libvirt.model import BaseImageDef, DomainDef, IgnitionDef, NetworkDef, PoolDef, ReservationDef, VolumeDef
from infra.libvirt.native import render
from infra.libvirt.native.facts import FACTS, flat


def _with_elements(kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """`elements`: the managed facts of the XML (facts.py), an input of their own so that Pulumi's diff shows
    which element changed, both for a program change and for drift found by `pulumi refresh`."""
    return {**inputs, "elements": flat(FACTS[kind](inputs["xml"]))}


def pool_props(pool: PoolDef) -> dict[str, Any]:
    return _with_elements("pool", {"host": pool.host, "uri": pool.uri, "name": pool.name, "path": pool.path,
                                   "xml": render.pool_xml(pool)})


def base_image_props(image: BaseImageDef, uri: str) -> dict[str, Any]:
    return {"host": image.host, "uri": uri, "pool": image.pool, "name": image.name, "source": image.source,
            "sha256": image.sha256, "checksum_file": image.checksum_file, "format": image.format,
            "uncompressed_sha256": image.uncompressed_sha256}


def network_props(network: NetworkDef) -> dict[str, Any]:
    return _with_elements("network", {"host": network.host, "uri": network.uri, "name": network.name,
                                      "xml": render.network_xml(network)})


def reservation_props(reservation: ReservationDef, network: NetworkDef, network_id: Any) -> dict[str, Any]:
    # libvirt keeps one DNS record per address: a node at the api address (the load balancer) is answered by
    # the network's own api record, and by its DHCP name once it holds the lease.
    shared = reservation.ip in {h.ip for h in network.dns_hosts}
    return {"host": reservation.host, "uri": reservation.uri, "network": reservation.network,
            # A re-created network (new id) has lost its reservations: the id makes them follow it.
            "network_id": network_id, "node": reservation.node, "mac": reservation.mac, "ip": str(reservation.ip),
            "hostname": reservation.hostname, "fqdn": reservation.fqdn, "dns_names": list(reservation.dns_names),
            "dhcp_xml": render.reservation_dhcp_xml(reservation),
            "dns_xml": None if shared else render.reservation_dns_xml(reservation)}


def volume_props(volume: VolumeDef, pool: PoolDef) -> dict[str, Any]:
    return _with_elements("volume", {"host": volume.host, "uri": pool.uri, "pool": volume.pool, "name": volume.name,
                                     "node": volume.node, "kind": volume.kind, "protected": volume.protect,
                                     "xml": render.volume_xml(volume, pool)})


def ignition_props(ignition: IgnitionDef, uri: str, content: Any) -> dict[str, Any]:
    return {"host": ignition.host, "uri": uri, "pool": ignition.pool, "name": ignition.name, "node": ignition.node,
            "content": content}


def domain_props(domain: DomainDef, pool: PoolDef) -> dict[str, Any]:
    return _with_elements("domain", {"host": domain.host, "uri": domain.uri, "name": domain.name,
                                     "node": domain.node, "autostart": domain.autostart, "start": True,
                                     "xml": render.domain_xml(domain, pool)})

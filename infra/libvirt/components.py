"""Backend-neutral components: a hypervisor host's shared objects, and one cluster node with its disks."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.libvirt.backend import LibvirtBackend
from infra.libvirt.model import DomainDef, HostLayout


class HypervisorHost(pulumi.ComponentResource):
    """What a cluster keeps on one hypervisor: its storage pool, the OS base image, the cluster network."""

    def __init__(self, layout: HostLayout, backend: LibvirtBackend, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:libvirt:HypervisorHost", layout.host, {"uri": layout.uri}, opts)
        self.layout = layout
        self.pool = backend.pool(layout.pool, parent=self)
        self.base_image = backend.base_image(layout.base_image, pool=self.pool, parent=self)
        self.network = backend.network(layout.network, parent=self)
        self.register_outputs({"uri": layout.uri, "network": layout.network.name, "pool": layout.pool.name})


class ClusterNode(pulumi.ComponentResource):
    """One VM of the cluster: its root and data volumes, its own Ignition file and the domain."""

    def __init__(self, domain: DomainDef, host: HypervisorHost, ignition: pulumi.Input[str],
                 backend: LibvirtBackend, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:libvirt:ClusterNode", domain.node, {"host": domain.host, "role": domain.role}, opts)
        volumes = [v for v in host.layout.volumes if v.node == domain.node]
        self.volumes = {
            v.name: backend.volume(v, pool=host.pool, base_image=host.base_image, parent=self) for v in volumes
        }
        ignition_def = next(i for i in host.layout.ignitions if i.node == domain.node)
        self.ignition = backend.ignition(ignition_def, ignition, pool=host.pool, parent=self)
        reservation_def = next((r for r in host.layout.reservations if r.node == domain.node), None)
        self.reservation = (
            backend.reservation(reservation_def, network=host.network, parent=self) if reservation_def else None
        )
        before = [*self.volumes.values(), self.ignition, host.network]
        if self.reservation is not None:
            before.append(self.reservation)  # the lease must be reserved before the VM asks for one
        self.domain = backend.domain(domain, depends_on=before, parent=self)
        self.register_outputs({"host": domain.host, "mac": domain.mac, "domain": domain.name})


def build_nodes(layouts: tuple[HostLayout, ...], ignition: Mapping[str, pulumi.Input[str]],
                backend: LibvirtBackend) -> tuple[dict[str, HypervisorHost], dict[str, ClusterNode]]:
    """All hosts and nodes. Pulumi creates resources without a dependency between them in parallel, so nodes on
    different hosts (and the volumes of one node) are created at the same time."""
    hosts = {layout.host: HypervisorHost(layout, backend) for layout in layouts}
    nodes = {}
    for layout in layouts:
        for domain in layout.domains:
            if domain.node not in ignition:
                raise ValueError(f"no Ignition config for node {domain.node}")
            nodes[domain.node] = ClusterNode(domain, hosts[layout.host], ignition[domain.node], backend)
    return hosts, nodes

"""The libvirt layer: networks, pools, volumes and VMs on every hypervisor host, through one of two backends."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.contracts import Machines
from infra.libvirt.backend import backend_named
from infra.libvirt.components import build_nodes
from infra.libvirt.model import host_layouts
from infra.paths import PROJECT_DIR
from infra.spec.load import LoadedStack


def create_machines(loaded: LoadedStack, ignition: Mapping[str, pulumi.Input[str]]) -> Machines:
    spec = loaded.spec
    layouts = host_layouts(loaded.plan, loaded.os_image, spec.libvirt.domain_type, spec.libvirt.autostart,
                           PROJECT_DIR)
    backend = backend_named(spec.libvirt.backend)
    hosts, nodes = build_nodes(layouts, ignition, backend)
    return Machines(
        domains={name: node.domain for name, node in nodes.items()},
        networks={name: host.network for name, host in hosts.items()},
        components=(*hosts.values(), *nodes.values()),
        exports={"libvirtBackend": backend.name},
    )

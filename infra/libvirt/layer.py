"""The libvirt layer: networks, pools, volumes and VMs on every hypervisor host, through one of two backends."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.contracts import Machines, MachinesInput
from infra.libvirt.backend import backend_named
from infra.libvirt.components import build_nodes
from infra.libvirt.model import host_layouts


def create_machines(args: MachinesInput, ignition: Mapping[str, pulumi.Input[str]]) -> Machines:
    layouts = host_layouts(args.plan, args.os_image, args.libvirt.domain_type, args.libvirt.autostart,
                           args.project_dir)
    _hosts, nodes = build_nodes(layouts, ignition, backend_named(args.libvirt.backend))
    return Machines(domains={name: node.domain for name, node in nodes.items()})

"""The libvirt layer: networks, pools, volumes and VMs on every hypervisor host (see layer.py)."""

from infra.libvirt.layer import create_machines

__all__ = ["create_machines"]

"""Deterministic MACs and planned IPs."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Network

# QEMU/KVM's locally administered OUI: libvirt and every VM tool use it for generated MACs.
_KVM_OUI = "52:54:00"


def mac_for(cluster: str, node: str) -> str:
    """A MAC that depends only on the cluster and node names, so re-creating a VM keeps its DHCP lease."""
    digest = hashlib.sha256(f"{cluster}/{node}".encode()).digest()
    return f"{_KVM_OUI}:{digest[0]:02x}:{digest[1]:02x}:{digest[2]:02x}"


def host_address(cidr: IPv4Network, number: int) -> IPv4Address:
    """The `number`-th address of the CIDR (0 is the network address)."""
    return cidr.network_address + number


def usable_host_numbers(cidr: IPv4Network) -> range:
    """Host numbers that may hold a node: not the network address, not the broadcast address."""
    return range(1, cidr.num_addresses - 1)

"""The cluster network: one L2 segment the nodes share, with addresses planned from offsets."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from pydantic import Field

from infra.spec.base import InterfaceName, Strict

# How a node gets its planned address on first boot (eaf:network.firstBoot).
FirstBoot = Literal["dhcp", "static"]


class AddressOffsets(Strict):
    """Host numbers inside the CIDR where each role's addresses start (node i gets offset + i), and of the virtual
    IPs a load-balancer pair holds."""

    api_vip: int = Field(3, ge=2, description="load-balancer pair: the API VIP (api, api-int)")
    ingress_vip: int = Field(4, ge=2, description="load-balancer pair: the ingress VIP (*.apps)")
    load_balancer: int = Field(5, ge=2)
    bootstrap: int = Field(9, ge=2)
    controllers: int = Field(10, ge=2)
    workers: int = Field(20, ge=2)
    gpu_workers: int = Field(50, ge=2)

    def start(self, offset_key: str) -> int:
        """The offset under its config key (the role table names each role's key)."""
        for name, field in type(self).model_fields.items():
            if (field.alias or name) == offset_key:
                return getattr(self, name)
        raise KeyError(f"eaf:network.offsets has no key {offset_key!r}")


class Network(Strict):
    mode: Literal["nat", "route", "bridge"] = Field(
        description="bridge: VMs on the hosts' existing bridge (several hosts); nat/route: a libvirt network, one host"
    )
    name: str | None = Field(None, description="libvirt network name; defaults to the cluster name")
    bridge: InterfaceName | None = Field(None, description="bridge mode: the host bridge to attach to (must exist)")
    cidr: IPv4Network = Field(description="the machine network every node's address is planned in")
    gateway: IPv4Address | None = Field(None, description="default: the CIDR's first host address")
    dns_servers: tuple[IPv4Address, ...] = Field((), description="upstream resolvers (bridge: the nodes' DNS)")
    mtu: int = Field(1500, ge=1280, le=9000)
    offsets: AddressOffsets = AddressOffsets()
    api_vip: IPv4Address | None = Field(None, description="load-balancer pair: the API VIP (default: offsets.apiVip)")
    ingress_vip: IPv4Address | None = Field(None, description="load-balancer pair: the ingress VIP (default: "
                                            "offsets.ingressVip)")
    ntp_servers: tuple[str, ...] = Field((), description="the site's NTP servers (host names or addresses) every "
                                         "node's chrony uses; empty: nat/route networks use the gateway, bridge "
                                         "networks must name them")
    first_boot: FirstBoot = Field(
        "dhcp", description="how a node gets its planned address on first boot, before Ignition has written its "
        "static keyfile. dhcp: a DHCP server answers each node's MAC with it (libvirt's on nat/route networks, the "
        "site's reservations from siteNetworkRecords on a bridge). static: the site runs no DHCP on the bridge; "
        "each node boots once with kernel arguments for its address (ifname=, ip=, nameserver=, as "
        "`coreos-installer --firstboot-args` writes them; docs/okd-install.md)")

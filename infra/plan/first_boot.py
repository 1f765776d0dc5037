"""First-boot kernel arguments for a node's planned address, on a site network without DHCP.

CoreOS fetches its machine config (the pointer config's merge source, https://api-int:22623) in the initramfs, before
Ignition has written the static keyfile (ignition/node.py), so on first boot the address must come from somewhere
else: a DHCP reservation per MAC (eaf:network.firstBoot: dhcp), or these kernel arguments (static). They are the
dracut/NetworkManager-initrd arguments `coreos-installer install --firstboot-args` takes; how they reach the first
boot only, per boot method, is in docs/okd-install.md ("First boot without site DHCP").

  ifname=<iface>:<mac>  names the NIC by its planned MAC, so the arguments never depend on how the kernel would
                        name it (PCI slot order differs between hypervisors and machine types)
  ip=<addr>::<gw>:<netmask>:<hostname>:<iface>:none[:<mtu>]   the planned address, static (no DHCP attempt); the
                        MTU only when the network's is not Ethernet's 1500 (the keyfile sets the same)
  nameserver=<dns>      one per resolver the node's keyfile names too
  rd.neednet=1          bring the network up in the initramfs even when the config needs no fetch
"""

from __future__ import annotations

from ipaddress import IPv4Network

from infra.plan.model import NetworkPlan, PlannedNode

# The name the first-boot NIC gets (ifname=): at most 15 characters, outside the kernel's eth*/en* names.
FIRST_BOOT_INTERFACE = "eaf0"
ETHERNET_MTU = 1500


def first_boot_kargs(node: PlannedNode, network: NetworkPlan) -> tuple[str, ...]:
    """The node's first-boot kernel arguments, in a fixed order; none when a DHCP reservation gives the address."""
    if network.first_boot != "static":
        return ()
    netmask = IPv4Network(f"0.0.0.0/{network.prefix_length}").netmask
    iface = FIRST_BOOT_INTERFACE
    mtu = f":{network.mtu}" if network.mtu != ETHERNET_MTU else ""
    return (
        f"ifname={iface}:{node.mac}",
        f"ip={node.ip}::{network.gateway}:{netmask}:{node.fqdn}:{iface}:none{mtu}",
        *(f"nameserver={server}" for server in network.node_dns_servers),
        "rd.neednet=1",
    )

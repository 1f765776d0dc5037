"""The XML terraform-provider-libvirt 0.8.1 would generate for our arguments, before it applies `xml.xslt`.

The provider plugin cannot be installed here, so this is a realistic approximation written from its source (read,
not copied): `newDomainDef` defaults (pae/acpi/apic features, spice graphics, guest-agent channel, virtio RNG),
`setFirmware` (pflash loader), `setCoreOSIgnition` (`-fw_cfg` through <qemu:commandline> on x86_64), `setDisks`
(volume source, qcow2 driver, vdX targets), `setNetworkInterfaces` (upper-case MAC, virtio model), `setConsoles`,
and for networks `resourceLibvirtNetworkCreate` (nat/route forward, family ipv4, DHCP range from the CIDR, DNS,
dnsmasq options). Built from the same DomainDef/NetworkDef and ProviderBackend argument functions the stack uses.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from lxml import etree

from infra.libvirt.model import DomainDef, NetworkDef, PoolDef
from infra.libvirt.provider.backend import domain_args, network_args

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def provider_domain_xml(domain: DomainDef, pool: PoolDef) -> bytes:
    """The domain as the provider defines it (GPUs are added only by the XSLT, so they are absent here)."""
    args = domain_args(domain, root_id="root", data_ids=["data"] * len(domain.data_volumes), ignition_id="ign",
                       network_id="net", reservation=None)
    root = etree.Element("domain", {"type": args["type"]}, nsmap={"qemu": QEMU_NS})
    _sub(root, "name", args["name"])
    _sub(root, "memory", str(args["memory"]), unit="MiB")
    _sub(root, "vcpu", str(args["vcpu"]), placement="static")
    os_element = _sub(root, "os")
    _sub(os_element, "type", "hvm", arch="x86_64", machine=args["machine"])
    if "firmware" in args:
        _sub(os_element, "loader", args["firmware"], readonly="yes", type="pflash", secure="no")
    if "kernel" in args:
        _sub(os_element, "kernel", args["kernel"])
        _sub(os_element, "initrd", args["initrd"])
        _sub(os_element, "cmdline", " ".join(sorted(c["_"] for c in args.get("cmdlines", []))))
    features = _sub(root, "features")
    for feature in ("pae", "acpi", "apic"):
        _sub(features, feature)
    if "cpu" in args:
        _sub(root, "cpu", mode=args["cpu"]["mode"])
    devices = _sub(root, "devices")
    for index, volume in enumerate((domain.root_volume, *domain.data_volumes)):
        disk = _sub(devices, "disk", type="volume", device="disk")
        _sub(disk, "driver", name="qemu", type="qcow2")
        _sub(disk, "source", pool=pool.name, volume=volume)
        _sub(disk, "target", dev="vd" + chr(ord("a") + index), bus="virtio")
    interface = _sub(devices, "interface", type="network")
    _sub(interface, "mac", address=domain.mac.upper())
    _sub(interface, "source", network=domain.network)
    _sub(interface, "model", type="virtio")
    for console in args["consoles"]:
        element = _sub(devices, "console", type=console["type"])
        _sub(element, "target", type=console["target_type"], port=console["target_port"])
    channel = _sub(devices, "channel", type="unix")
    _sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")
    _sub(devices, "graphics", type="spice", autoport="yes")
    rng = _sub(devices, "rng", model="virtio")
    _sub(rng, "backend", "/dev/urandom", model="random")
    commandline = etree.SubElement(root, f"{{{QEMU_NS}}}commandline")
    etree.SubElement(commandline, f"{{{QEMU_NS}}}arg", value="-fw_cfg")
    etree.SubElement(commandline, f"{{{QEMU_NS}}}arg",
                     value=f"name={args['fw_cfg_name']},file={pool.path}/{domain.ignition_volume}")
    return etree.tostring(root, pretty_print=True, xml_declaration=False)


def provider_network_xml(network: NetworkDef) -> bytes:
    """A nat/route network as the provider defines it: the gateway is the CIDR's first address, DHCP serves the
    whole CIDR, DNS host records grouped by IP, dnsmasq options."""
    args = network_args(network)
    cidr = IPv4Network(args["addresses"][0])
    root = etree.Element("network", nsmap={"dnsmasq": DNSMASQ_NS})
    _sub(root, "name", args["name"])
    forward = _sub(root, "forward", mode=args["mode"])
    if args["mode"] == "nat":
        nat = _sub(forward, "nat")
        _sub(nat, "port", start="1024", end="65535")
    _sub(root, "bridge", name=args["bridge"], stp="on")
    _sub(root, "mtu", size=str(args["mtu"]))
    _sub(root, "domain", name=args["domain"], localOnly="yes")
    dns = _sub(root, "dns", enable="yes")
    for forwarder in args["dns"]["forwarders"]:
        _sub(dns, "forwarder", addr=forwarder["address"])
    by_ip: dict[str, list[str]] = {}
    for host in args["dns"]["hosts"]:
        by_ip.setdefault(host["ip"], []).append(host["hostname"])
    for ip, names in by_ip.items():
        host = _sub(dns, "host", ip=ip)
        for name in names:
            _sub(host, "hostname", name)
    ip = _sub(root, "ip", family="ipv4", address=str(cidr.network_address + 1), prefix=str(cidr.prefixlen))
    dhcp = _sub(ip, "dhcp")
    _sub(dhcp, "range", start=str(cidr.network_address + 2), end=str(cidr.broadcast_address - 1))
    options = etree.SubElement(root, f"{{{DNSMASQ_NS}}}options")
    for option in args["dnsmasq_options"]["options"]:
        etree.SubElement(options, f"{{{DNSMASQ_NS}}}option",
                         value=f"{option['option_name']}={option['option_value']}")
    return etree.tostring(root, pretty_print=True)

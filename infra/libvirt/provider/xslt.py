"""XSLT stylesheets for what pulumi-libvirt cannot say with arguments: PCI passthrough (domains) and the gateway
address plus DHCP reservations (networks). The provider applies a stylesheet to the XML it generated, just before it
defines the object in libvirt (`xml.xslt`). Python prepares every value; the templates only place them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from infra.libvirt.model import DomainDef, NetworkDef

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class PciFields:
    """The hex fields of libvirt's PCI <address> element."""

    domain: str
    bus: str
    slot: str
    function: str


def pci_fields(address: str) -> PciFields:
    """`0000:17:00.0` (DDDD:BB:SS.F, as lspci -D prints it) -> domain 0x0000, bus 0x17, slot 0x00, function 0x0."""
    try:
        domain, bus, rest = address.split(":")
        slot, function = rest.split(".")
        fields = (int(domain, 16), int(bus, 16), int(slot, 16), int(function, 16))
    except ValueError:
        raise ValueError(f"not a PCI address (DDDD:BB:SS.F): {address!r}") from None
    limits = (0xFFFF, 0xFF, 0x1F, 0x7)
    if any(value > limit for value, limit in zip(fields, limits, strict=True)):
        raise ValueError(f"PCI address out of range (slot <= 0x1f, function <= 7): {address!r}")
    return PciFields(f"0x{fields[0]:04x}", f"0x{fields[1]:02x}", f"0x{fields[2]:02x}", f"0x{fields[3]:x}")


@cache
def _environment():
    import jinja2  # only when a stylesheet is rendered

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def gpu_passthrough_xslt(domain: DomainDef) -> str | None:
    """The stylesheet adding one <hostdev> per GPU of the domain; None for a domain without GPUs (no `xml` then,
    so a plain VM's definition carries no stylesheet at all)."""
    if not domain.gpus:
        return None
    template = _environment().get_template("gpu-hostdev.xslt.j2")
    return template.render(domain=domain.name, gpus=[pci_fields(g) for g in domain.gpus])


def network_xslt(network: NetworkDef) -> str | None:
    """The stylesheet setting the gateway address, the DHCP range and static reservations of the model (the
    provider would derive the first two from the CIDR); None for bridge networks, where libvirt runs no DHCP/DNS
    (the site's serve the segment). Per-node reservations are not here: the provider adds them live from each
    domain's network interface, so a new node never changes the network's definition."""
    if network.mode == "bridge":
        return None
    template = _environment().get_template("network-dhcp.xslt.j2")
    hosts = sorted(network.dhcp_hosts, key=lambda h: h.ip)
    return template.render(network=network.name, host=network.host, gateway=network.gateway,
                           dhcp_first=network.dhcp_first, dhcp_last=network.dhcp_last, hosts=hosts)

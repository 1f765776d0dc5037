"""XSLT stylesheets for what pulumi-libvirt cannot say with arguments: PCI passthrough (domains) and the gateway
address plus DHCP reservations (networks). The provider applies a stylesheet to the XML it generated, just before it
defines the object in libvirt (`xml.xslt`). Python prepares every value; the templates only place them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from infra.libvirt.model import DomainDef, NetworkDef
from infra.libvirt.pci import PciFields, pci_fields  # noqa: F401 - PciFields re-exported for the tests

TEMPLATES = Path(__file__).parent / "templates"


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

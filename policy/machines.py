"""The VMs a stack defines, read from its domain resources, whichever libvirt backend registered them.

- native backend: a Python dynamic resource whose `xml` input is the domain XML. Its
  `<metadata><eaf:node name role host/>` says which node it is and on which hypervisor; PCI passthrough is
  `<devices><hostdev type='pci'><source><address .../>`.
- pulumi-libvirt backend: `libvirt:index/domain:Domain`; it runs on its hypervisor's provider (the provider's name
  is the host), its parent `eaf:libvirt:ClusterNode` says node and role, and PCI passthrough is the `<hostdev>` of
  its `xml.xslt` stylesheet (pulumi-libvirt has no hostdev argument).
The facts come from what would be sent to libvirt, not from the spec, so a policy checks what would be deployed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from infra.libvirt.native.resources import LibvirtDomain, registered_type
from infra.libvirt.pci import address_text
from policy.records import ResourceRecord, urn_name

NATIVE_DOMAIN_TYPE = registered_type(LibvirtDomain)
PROVIDER_DOMAIN_TYPE = "libvirt:index/domain:Domain"
CLUSTER_NODE_TYPE = "eaf:libvirt:ClusterNode"
NODE_METADATA_NS = "https://eaf-infra.invalid/libvirt/node/1"
# No network, no entities: the XML is ours, but a parser that fetches things has no place in a policy.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Machine:
    urn: str  # the domain resource
    resource_name: str
    node: str
    role: str
    host: str
    pci_devices: tuple[str, ...]  # DDDD:BB:SS.F, in document order


def hostdev_pci_addresses(xml_text: str) -> tuple[str, ...]:
    """Every PCI hostdev source address in a domain XML or an XSLT stylesheet that writes hostdevs."""
    root = etree.fromstring(xml_text.encode(), _PARSER)
    found = []
    for hostdev in root.iter("{*}hostdev", "hostdev"):
        if hostdev.get("type") != "pci":
            continue
        for address in hostdev.iter("{*}address", "address"):
            if address.getparent() is not None and etree.QName(address.getparent()).localname == "source":
                found.append(address_text(address))
    return tuple(found)


def _is_domain_xml(value: object) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("<domain")


def _native_machine(record: ResourceRecord) -> Machine:
    xml_text = record.inputs["xml"]
    root = etree.fromstring(xml_text.encode(), _PARSER)
    node = root.find(f"metadata/{{{NODE_METADATA_NS}}}node")
    meta = dict(node.attrib) if node is not None else {}
    return Machine(
        urn=record.urn, resource_name=record.name,
        node=meta.get("name") or str(record.inputs.get("node", "")),
        role=meta.get("role", ""),
        host=meta.get("host") or str(record.inputs.get("host", "")),
        pci_devices=hostdev_pci_addresses(xml_text),
    )


def _provider_machine(record: ResourceRecord, nodes: Mapping[str, ResourceRecord]) -> Machine:
    parent = nodes.get(record.parent)
    parent_inputs = parent.inputs if parent is not None else {}
    xml = record.inputs.get("xml")
    xslt = xml.get("xslt") if isinstance(xml, Mapping) else None
    return Machine(
        urn=record.urn, resource_name=record.name,
        node=parent.name if parent is not None else str(record.inputs.get("name", "")),
        role=str(parent_inputs.get("role", "")),
        # The hypervisor's provider is named after the host; the ClusterNode says the same when present.
        host=str(parent_inputs.get("host") or urn_name(record.provider)),
        pci_devices=hostdev_pci_addresses(xslt) if isinstance(xslt, str) and xslt.strip() else (),
    )


def machines(resources: Sequence[ResourceRecord]) -> list[Machine]:
    nodes = {r.urn: r for r in resources if r.type == CLUSTER_NODE_TYPE}
    found = []
    for record in resources:
        if record.type == NATIVE_DOMAIN_TYPE and _is_domain_xml(record.inputs.get("xml")):
            found.append(_native_machine(record))
        elif record.type == PROVIDER_DOMAIN_TYPE:
            found.append(_provider_machine(record, nodes))
    return found


def by_role(found: Iterable[Machine], role: str) -> list[Machine]:
    return [machine for machine in found if machine.role == role]

"""Edits of libvirt XML documents, done on the parsed tree (lxml keeps namespace prefixes and everything else
as libvirt wrote it), never on the text."""

from __future__ import annotations

from lxml import etree

from infra.libvirt.native.facts import FactKey

_PARSER = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode(), _PARSER)


def text(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


def with_uuid(xml: str, uuid: str) -> str:
    """The document with <uuid> set, right after <name>: redefining an object under its name needs its UUID,
    else libvirt sees a second object."""
    root = parse(xml)
    found = root.find("uuid")
    if found is None:
        name = root.find("name")
        found = etree.Element("uuid")
        found.tail = name.tail
        name.addnext(found)
    found.text = uuid
    return text(root)


def element(xml: str, key: FactKey) -> str | None:
    """The XML text of the one element a fact key selects (`dns/host` whose `@ip` is the key's value), or None."""
    for candidate in parse(xml).findall(key.path):
        if candidate.xpath(f"string({key.match})").lower() == key.value.lower():
            candidate.tail = None
            return text(candidate).strip()
    return None


def keep_reservations(new_xml: str, live_xml: str) -> str:
    """`new_xml` plus the node reservations (DHCP and DNS hosts) the live network has and `new_xml` lacks:
    redefining the network must not drop what ReservationProvider added."""
    new, live = parse(new_xml), parse(live_xml)
    for section, attribute in (("ip/dhcp", "mac"), ("dns", "ip")):
        target = new.find(section)
        if target is None:
            continue
        present = {e.get(attribute, "").lower() for e in target.findall("host")}
        for host in live.findall(f"{section}/host"):
            if host.get(attribute, "").lower() not in present:
                host.tail = None
                target.append(host)
    return text(new)

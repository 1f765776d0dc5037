"""What the program manages in each libvirt object's XML, as facts: {which element: its value}.

The same projection is taken of the XML the program renders and of the live XML libvirt returns, so a diff or a
refresh compares like with like and ignores what libvirt adds on its own (UUIDs, PCI addresses, controllers,
the expanded machine type). A fact's key is typed (`FactKey`): the element's path and, for repeated elements,
the test that picks one. Code reads the key's fields; its display form (`dns/host[@ip='10.0.0.5']`) exists only
for people and for the state (`live`/`elements` outputs, the keys a preview diff shows), and is never parsed back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DNSMASQ_NS = "{http://libvirt.org/schemas/network/dnsmasq/1.0}"
_UNIT_BYTES = {
    "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3,
    "t": 1024**4, "tib": 1024**4, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
}


@dataclass(frozen=True, order=True)
class FactKey:
    """The XML element (or attribute) a fact comes from. A repeated element carries the test that picks one:
    FactKey("dns/host", "@ip", "10.0.0.5") is shown as `dns/host[@ip='10.0.0.5']`."""

    path: str
    match: str = ""  # the selecting attribute, relative to the element: "@mac", "target/@dev"
    value: str = ""  # what it must equal

    def __str__(self) -> str:
        return f"{self.path}[{self.match}='{self.value}']" if self.match else self.path


Facts = dict[FactKey, str]

# Keys used by name elsewhere.
NAME = FactKey("name")
CAPACITY = FactKey("capacity")
DHCP_HOST = "ip/dhcp/host"
DNS_HOST = "dns/host"


def dhcp_host_key(mac: str) -> FactKey:
    return FactKey(DHCP_HOST, "@mac", mac.lower())


def dns_host_key(ip: str) -> FactKey:
    return FactKey(DNS_HOST, "@ip", ip)


def flat(facts: Facts) -> dict[str, str]:
    """The display form the state keeps (`live`, `elements`)."""
    return {str(key): value for key, value in facts.items()}


def _bytes(element: ET.Element | None, default_unit: str) -> str:
    if element is None or element.text is None:
        return ""
    unit = (element.get("unit") or default_unit).lower()
    return str(int(element.text.strip()) * _UNIT_BYTES[unit])


def _attr(root: ET.Element, path: str, name: str) -> str:
    found = root.find(path)
    return "" if found is None else found.get(name, "")


def _text(root: ET.Element, path: str) -> str:
    found = root.find(path)
    return "" if found is None or found.text is None else found.text.strip()


def pool_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    return {FactKey("pool/@type"): root.get("type", ""), NAME: _text(root, "name"),
            FactKey("target/path"): _text(root, "target/path")}


def volume_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    return {
        NAME: _text(root, "name"),
        CAPACITY: _bytes(root.find("capacity"), "bytes"),
        FactKey("target/format/@type"): _attr(root, "target/format", "type"),
        FactKey("backingStore/path"): _text(root, "backingStore/path"),
    }


def dhcp_host_value(ip: str, name: str) -> str:
    return f"{ip} {name}"


def network_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    facts = {
        NAME: _text(root, "name"),
        FactKey("forward/@mode"): _attr(root, "forward", "mode"),
        FactKey("bridge/@name"): _attr(root, "bridge", "name"),
        FactKey("mtu/@size"): _attr(root, "mtu", "size"),
        FactKey("domain/@name"): _attr(root, "domain", "name"),
        FactKey("ip/@address"): _attr(root, "ip", "address"),
        FactKey("ip/@prefix"): _attr(root, "ip", "prefix"),
        FactKey("ip/dhcp/range"): " ".join(filter(None, (_attr(root, "ip/dhcp/range", "start"),
                                                         _attr(root, "ip/dhcp/range", "end")))),
        FactKey("dns/forwarder"): " ".join(f.get("addr", "") for f in root.findall("dns/forwarder")),
    }
    for host in root.findall(DHCP_HOST):
        facts[dhcp_host_key(host.get("mac", ""))] = dhcp_host_value(host.get("ip", ""), host.get("name", ""))
    for host in root.findall(DNS_HOST):
        facts[dns_host_key(host.get("ip", ""))] = " ".join((h.text or "").strip() for h in host.findall("hostname"))
    options = [o.get("value", "") for o in root.findall(f"{DNSMASQ_NS}options/{DNSMASQ_NS}option")]
    facts[FactKey("dnsmasq:options")] = " ".join(options)
    return facts


def is_reservation(key: FactKey) -> bool:
    """A node's DHCP host or DNS record: the business of ReservationProvider, not of the network's own facts."""
    return key.path in (DHCP_HOST, DNS_HOST)


def _pci(address: ET.Element) -> str:
    parts = [int(address.get(k, "0"), 16) for k in ("domain", "bus", "slot", "function")]
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def domain_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    facts = {
        FactKey("domain/@type"): root.get("type", ""),
        NAME: _text(root, "name"),
        FactKey("memory"): _bytes(root.find("memory"), "KiB"),
        FactKey("currentMemory"): _bytes(root.find("currentMemory"), "KiB"),
        FactKey("vcpu"): _text(root, "vcpu"),
        # libvirt writes <cpu mode='custom'> for a domain that asks for no CPU model: that is "not set".
        FactKey("cpu/@mode"): _attr(root, "cpu", "mode").replace("custom", ""),
        FactKey("os/@firmware"): _attr(root, "os", "firmware"),
        FactKey("os/kernel"): _text(root, "os/kernel"),
        FactKey("os/initrd"): _text(root, "os/initrd"),
        FactKey("os/cmdline"): _text(root, "os/cmdline"),
    }
    for entry in root.findall("sysinfo[@type='fwcfg']/entry"):
        facts[FactKey("sysinfo/entry", "@name", entry.get("name", ""))] = entry.get("file", "")
    for disk in root.findall("devices/disk[@device='disk']"):
        facts[FactKey("devices/disk", "target/@dev", _attr(disk, "target", "dev"))] = (
            f"{disk_source(disk)} {_attr(disk, 'driver', 'type')} {_attr(disk, 'target', 'bus')}"
        )
    for nic in root.findall("devices/interface"):
        facts[FactKey("devices/interface", "mac/@address", _attr(nic, "mac", "address").lower())] = (
            f"{nic.get('type', '')} {_attr(nic, 'source', 'network')} {_attr(nic, 'model', 'type')}"
        )
    facts[FactKey("devices/serial/source/@path")] = " ".join(
        _attr(s, "source", "path") for s in root.findall("devices/serial")
    )
    hostdevs = sorted(_pci(a) for a in root.findall("devices/hostdev[@type='pci']/source/address"))
    facts[FactKey("devices/hostdev")] = " ".join(hostdevs)
    return facts


def disk_source(disk: ET.Element) -> str:
    source = disk.find("source")
    return "" if source is None else source.get("file", "") or source.get("volume", "")


FACTS: Mapping[str, Callable[[str], Facts]] = {
    "pool": pool_facts, "volume": volume_facts, "network": network_facts, "domain": domain_facts,
}


def changed(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Every fact (by display key: one side may come from the state) whose value differs, a missing fact counting
    as empty, in key order."""
    keys = sorted(set(before) | set(after))
    return {k: (before.get(k, ""), after.get(k, "")) for k in keys if before.get(k, "") != after.get(k, "")}


def changed_facts(before: Facts, after: Facts) -> dict[FactKey, tuple[str, str]]:
    """The same for two sets of facts read from XML, with their typed keys."""
    keys = sorted(set(before) | set(after), key=str)
    return {k: (before.get(k, ""), after.get(k, "")) for k in keys if before.get(k, "") != after.get(k, "")}

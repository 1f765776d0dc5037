"""What the program manages in each libvirt object's XML, as flat {element path: value} facts.

The same projection is taken of the XML the program renders and of the live XML libvirt returns, so a diff or a
refresh compares like with like and ignores what libvirt adds on its own (UUIDs, PCI addresses, controllers,
the expanded machine type). A fact's key names the XML element it comes from, so a diff says what changed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

DNSMASQ_NS = "{http://libvirt.org/schemas/network/dnsmasq/1.0}"
_UNIT_BYTES = {
    "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3,
    "t": 1024**4, "tib": 1024**4, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
}

Facts = dict[str, str]


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
    return {"pool/@type": root.get("type", ""), "name": _text(root, "name"), "target/path": _text(root, "target/path")}


def volume_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    return {
        "name": _text(root, "name"),
        "capacity": _bytes(root.find("capacity"), "bytes"),
        "target/format/@type": _attr(root, "target/format", "type"),
        "backingStore/path": _text(root, "backingStore/path"),
    }


def network_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    facts = {
        "name": _text(root, "name"),
        "forward/@mode": _attr(root, "forward", "mode"),
        "bridge/@name": _attr(root, "bridge", "name"),
        "mtu/@size": _attr(root, "mtu", "size"),
        "domain/@name": _attr(root, "domain", "name"),
        "ip/@address": _attr(root, "ip", "address"),
        "ip/@prefix": _attr(root, "ip", "prefix"),
        "ip/dhcp/range": " ".join(filter(None, (_attr(root, "ip/dhcp/range", "start"),
                                                _attr(root, "ip/dhcp/range", "end")))),
        "dns/forwarder": " ".join(f.get("addr", "") for f in root.findall("dns/forwarder")),
    }
    for host in root.findall("ip/dhcp/host"):
        facts[f"ip/dhcp/host[@mac='{host.get('mac', '').lower()}']"] = f"{host.get('ip', '')} {host.get('name', '')}"
    for host in root.findall("dns/host"):
        names = " ".join((h.text or "").strip() for h in host.findall("hostname"))
        facts[f"dns/host[@ip='{host.get('ip', '')}']"] = names
    options = [o.get("value", "") for o in root.findall(f"{DNSMASQ_NS}options/{DNSMASQ_NS}option")]
    facts["dnsmasq:options"] = " ".join(options)
    return facts


def _pci(address: ET.Element) -> str:
    parts = [int(address.get(k, "0"), 16) for k in ("domain", "bus", "slot", "function")]
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def domain_facts(xml: str) -> Facts:
    root = ET.fromstring(xml)
    facts = {
        "domain/@type": root.get("type", ""),
        "name": _text(root, "name"),
        "memory": _bytes(root.find("memory"), "KiB"),
        "currentMemory": _bytes(root.find("currentMemory"), "KiB"),
        "vcpu": _text(root, "vcpu"),
        # libvirt writes <cpu mode='custom'> for a domain that asks for no CPU model: that is "not set".
        "cpu/@mode": _attr(root, "cpu", "mode").replace("custom", ""),
        "os/@firmware": _attr(root, "os", "firmware"),
        "os/kernel": _text(root, "os/kernel"),
        "os/initrd": _text(root, "os/initrd"),
        "os/cmdline": _text(root, "os/cmdline"),
    }
    for entry in root.findall("sysinfo[@type='fwcfg']/entry"):
        facts[f"sysinfo/entry[@name='{entry.get('name', '')}']"] = entry.get("file", "")
    for disk in root.findall("devices/disk[@device='disk']"):
        source = disk.find("source")
        path = "" if source is None else source.get("file", "") or source.get("volume", "")
        facts[f"devices/disk[target/@dev='{_attr(disk, 'target', 'dev')}']"] = (
            f"{path} {_attr(disk, 'driver', 'type')} {_attr(disk, 'target', 'bus')}"
        )
    for nic in root.findall("devices/interface"):
        facts[f"devices/interface[mac/@address='{_attr(nic, 'mac', 'address').lower()}']"] = (
            f"{nic.get('type', '')} {_attr(nic, 'source', 'network')} {_attr(nic, 'model', 'type')}"
        )
    facts["devices/serial/source/@path"] = " ".join(
        _attr(s, "source", "path") for s in root.findall("devices/serial")
    )
    hostdevs = sorted(_pci(a) for a in root.findall("devices/hostdev[@type='pci']/source/address"))
    facts["devices/hostdev"] = " ".join(hostdevs)
    return facts


FACTS = {"pool": pool_facts, "volume": volume_facts, "network": network_facts, "domain": domain_facts}


def changed(before: Facts, after: Facts) -> dict[str, tuple[str, str]]:
    """Every fact whose value differs (a missing fact counts as empty), in key order."""
    keys = sorted(set(before) | set(after))
    return {k: (before.get(k, ""), after.get(k, "")) for k in keys if before.get(k, "") != after.get(k, "")}

"""PCI addresses both ways: as the spec and lspci write them (0000:17:00.0) and as libvirt's <address> element."""

from __future__ import annotations

from dataclasses import dataclass

_FIELDS = ("domain", "bus", "slot", "function")


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


def address_text(element) -> str:
    """libvirt's <address domain='0x0000' bus='0x17' slot='0x00' function='0x0'/> (an lxml element) -> 0000:17:00.0."""
    fields = [int(element.get(name, "0"), 16) for name in _FIELDS]
    return f"{fields[0]:04x}:{fields[1]:02x}:{fields[2]:02x}.{fields[3]:x}"

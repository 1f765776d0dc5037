"""Shared pydantic base and constrained types for the cluster spec."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Strict(BaseModel):
    """Every spec model: unknown keys refused, camelCase keys in YAML, immutable once validated."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _matching(pattern: re.Pattern[str], what: str, example: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"not a valid {what} (e.g. '{example}')")
        return value

    return check


DnsLabel = Annotated[
    str, AfterValidator(_matching(_DNS_LABEL, "RFC 1123 DNS label: lower case, digits, '-'", "eaf-dev"))
]
DnsName = Annotated[str, AfterValidator(_matching(_DNS_NAME, "DNS name", "fnal.gov"))]
MacAddress = Annotated[str, AfterValidator(_matching(_MAC, "MAC address in lower case", "52:54:00:12:34:56"))]
PciAddress = Annotated[
    str, AfterValidator(_matching(_PCI, "PCI address domain:bus:slot.function in lower case", "0000:17:00.0"))
]
Sha256 = Annotated[str, AfterValidator(_matching(_SHA256, "sha256 checksum (64 lower-case hex digits)", "9f86d0…"))]

"""Shared pydantic base and constrained types for the cluster spec."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Strict(BaseModel):
    """Every spec model: unknown keys refused, camelCase keys in YAML, immutable once validated."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              allow_inf_nan=False)


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
# Linux's dev_valid_name: 1-15 characters (IFNAMSIZ 16 with the NUL), not "." or "..", no '/', ':' or space.
_INTERFACE = re.compile(r"^(?!\.\.?$)[!-~]{1,15}$")


def _interface_name(value: str) -> str:
    if not _INTERFACE.match(value) or any(c in value for c in "/:"):
        raise ValueError(f"not a Linux interface name: {len(value)} characters, where at most 15 printable ASCII "
                         "ones without '/' or ':' are allowed (e.g. br0)")
    return value


InterfaceName = Annotated[str, AfterValidator(_interface_name)]
DnsName = Annotated[str, AfterValidator(_matching(_DNS_NAME, "DNS name", "fnal.gov"))]
MacAddress = Annotated[str, AfterValidator(_matching(_MAC, "MAC address in lower case", "52:54:00:12:34:56"))]
PciAddress = Annotated[
    str, AfterValidator(_matching(_PCI, "PCI address domain:bus:slot.function in lower case", "0000:17:00.0"))
]
Sha256 = Annotated[str, AfterValidator(_matching(_SHA256, "sha256 checksum (64 lower-case hex digits)", "9f86d0…"))]


# -- PEM bundles: CA / trust bundles (OKD's additionalTrustBundle, a proxy's or mirror registry's CA) ----------------

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----", re.DOTALL)


def pem_bundle_problems(text: str, now: datetime | None = None) -> list[str]:
    """Why a text is not a bundle of PEM certificates that TLS clients could trust (empty when it is one). Each
    certificate is parsed for real (cryptography's x509); text between the blocks is ignored, as OpenSSL and Go's
    crypto/x509 ignore it. Nothing of the text is repeated: a private key pasted by mistake is not shown."""
    from cryptography import x509

    now = now or datetime.now(UTC)
    problems = []
    blocks = list(_PEM_BLOCK.finditer(text))
    begins = text.count("-----BEGIN ")
    if begins != len(blocks):
        problems.append(f"{begins - len(blocks)} '-----BEGIN' line(s) without a matching '-----END' line (a cut copy?)")
    certificates = 0
    for number, block in enumerate(blocks, 1):
        kind, body, end = block.group(1), block.group(2), block.group(3)
        if "PRIVATE KEY" in kind:
            problems.append(f"block {number} is a {kind}: a trust bundle holds public certificates only; remove it "
                            "and treat that key as exposed (replace it)")
            continue
        if kind != "CERTIFICATE" or end != kind:
            problems.append(f"block {number} is a {kind!r} block, not a CERTIFICATE")
            continue
        try:
            certificate = x509.load_pem_x509_certificate(block.group(0).encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            problems.append(f"certificate {number} does not parse (its base64 or DER is damaged: {len(body.strip())} "
                            "characters between BEGIN and END)")
            continue
        certificates += 1
        if certificate.not_valid_after_utc < now:
            subject = certificate.subject.rfc4514_string() or "(no subject)"
            problems.append(f"certificate {number} ({subject}) expired on "
                            f"{certificate.not_valid_after_utc:%Y-%m-%d}")
    if not blocks:
        problems.append("no '-----BEGIN CERTIFICATE-----' block: not a PEM bundle (a DER file? convert it with "
                        "`openssl x509 -inform der -in FILE`)")
    elif not certificates and not problems:
        problems.append("holds no certificate")
    return problems


def _pem_bundle(value: str) -> str:
    problems = pem_bundle_problems(value)
    if problems:
        raise ValueError("not a usable PEM certificate bundle: " + "; ".join(problems))
    return value


PemBundle = Annotated[str, AfterValidator(_pem_bundle)]

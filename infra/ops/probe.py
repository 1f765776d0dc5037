"""The probe image's report line: `EAF-PROBE {json}` on each VM's serial console (scripts/probe/init)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"^EAF-PROBE (\{.*\})\s*$")


@dataclass(frozen=True)
class ProbeLine:
    mac: str | None
    ip: str | None  # address/prefix the guest configured from its lease
    hostname: str | None
    domain: str | None
    ignition_sha256: str | None
    ignition_bytes: int | None
    dns: dict[str, str | None]
    disk_sha256: str | None
    errors: tuple[str, ...]
    ip_source: str | None = None  # "dhcp" (a lease) or "static" (first-boot ip= argument); None: an older probe


def parse_probe_lines(text: str) -> list[ProbeLine]:
    lines = []
    for raw in text.replace("\r", "").splitlines():
        match = _LINE.match(raw.strip())
        if not match:
            continue
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue  # a line cut by a concurrent kernel message; the probe prints it again
        lines.append(ProbeLine(
            mac=data.get("mac"), ip=data.get("ip"), hostname=data.get("hostname"), domain=data.get("domain"),
            ignition_sha256=data.get("ignition_sha256"), ignition_bytes=data.get("ignition_bytes"),
            dns=dict(data.get("dns") or {}), disk_sha256=data.get("disk_sha256"),
            errors=tuple(data.get("errors") or ()), ip_source=data.get("ip_source"),
        ))
    return lines


def last_probe_line(log: Path) -> ProbeLine | None:
    """The newest complete probe line of a serial log, or None while the guest has not printed one."""
    try:
        text = log.read_text(errors="replace")
    except (FileNotFoundError, PermissionError):
        return None
    found = parse_probe_lines(text)
    return found[-1] if found else None

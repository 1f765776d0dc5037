"""The image-scan gate: which of grype's findings block an image, given the severity threshold and the allow-list.

A finding blocks when its severity is at or above the threshold (the facility's: Critical) and no *current*
allow-list entry names its vulnerability id and package. An entry past its expiry date blocks by itself, whether or
not it still matches anything: an exception is re-decided by a person, never kept by default. Input is grype's JSON
report (`grype -o json`): `matches[].vulnerability.{id,severity}` and `matches[].artifact.{name,version}`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from infra.spec.base import Strict

# grype's severities, lowest first ("Negligible" and "Unknown" as grype reports them).
SEVERITIES = ("Unknown", "Negligible", "Low", "Medium", "High", "Critical")
# CVE and GHSA ids in their exact forms; other advisories (DLA-3456-1, RHSA-2024:1234, GO-2024-1234) by prefix.
_VULN_ID = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}"
                      r"|(?!CVE-|GHSA-)[A-Z][A-Z0-9]*-[A-Za-z0-9.:_-]+)$")


class AllowEntry(Strict):
    """One accepted finding: this vulnerability in this package, for this reason, until this date."""

    id: str = Field(description="vulnerability id as grype reports it (CVE-..., GHSA-..., DLA-...)")
    package: str = Field(description="the package name as grype reports it (the artifact's name)")
    reason: str = Field(min_length=10, description="why it is accepted: who decided, what mitigates it")
    expires: dt.date = Field(description="last day the entry holds; after it the scan fails again")

    @field_validator("id")
    @classmethod
    def _known_id_form(cls, value: str) -> str:
        if not _VULN_ID.match(value):
            raise ValueError("not a vulnerability id (e.g. CVE-2024-12345 or GHSA-xxxx-xxxx-xxxx)")
        return value


class AllowList(Strict):
    fail_on: str = Field("Critical", description="lowest severity that blocks an image")
    allow: tuple[AllowEntry, ...] = ()

    @field_validator("fail_on")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError(f"one of {', '.join(SEVERITIES)}")
        return value


class AllowListError(ValueError):
    """The allow-list file cannot be used; the message says which entry and field."""


def load_allowlist(path: Path) -> AllowList:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        allowlist = AllowList.model_validate(document)
    except (OSError, yaml.YAMLError) as error:
        raise AllowListError(f"{path}: {error}") from error
    except ValidationError as error:
        lines = [f"{path}: {len(error.errors())} problem(s):"]
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            lines.append(f"  - {where} = {problem.get('input')!r}: {problem['msg']}")
        raise AllowListError("\n".join(lines)) from error
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(allowlist.allow):
        key = (entry.id, entry.package)
        if key in seen:
            raise AllowListError(f"{path}: allow.{index}: {entry.id} in {entry.package} is listed twice")
        seen.add(key)
    return allowlist


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    package: str
    version: str
    fixed_in: tuple[str, ...]

    def render(self) -> str:
        fix = f", fixed in {', '.join(self.fixed_in)}" if self.fixed_in else ", no fix released"
        return f"{self.severity} {self.id} in {self.package} {self.version}{fix}"


@dataclass(frozen=True)
class Verdict:
    blocking: tuple[Finding, ...]
    allowed: tuple[tuple[Finding, AllowEntry], ...]
    expired: tuple[AllowEntry, ...]
    unused: tuple[AllowEntry, ...]  # current entries that matched nothing: candidates for removal
    below_threshold: int

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.expired

    def render(self, threshold: str) -> str:
        lines = [f"image scan: {'PASSED' if self.passed else 'FAILED'} (fails on {threshold} and above)"]
        lines += [f"  BLOCKING {finding.render()}" for finding in self.blocking]
        lines += [f"  EXPIRED allow-list entry {entry.id} in {entry.package} (expired {entry.expires}): "
                  "renew it with a new decision or fix the image" for entry in self.expired]
        lines += [f"  allowed  {finding.render()} until {entry.expires}: {entry.reason}"
                  for finding, entry in self.allowed]
        lines += [f"  unused allow-list entry {entry.id} in {entry.package}: nothing matches it any more"
                  for entry in self.unused]
        lines.append(f"  {self.below_threshold} finding(s) below {threshold}")
        return "\n".join(lines)


def findings(report: dict[str, Any]) -> tuple[Finding, ...]:
    """The findings of grype's JSON report, one per (vulnerability, package, version), sorted."""
    found = {}
    for match in report.get("matches", []):
        vulnerability, artifact = match["vulnerability"], match["artifact"]
        severity = vulnerability.get("severity") or "Unknown"
        if severity not in SEVERITIES:
            severity = "Unknown"
        finding = Finding(id=vulnerability["id"], severity=severity, package=artifact["name"],
                          version=artifact["version"],
                          fixed_in=tuple(vulnerability.get("fix", {}).get("versions") or ()))
        found[(finding.id, finding.package, finding.version)] = finding
    return tuple(found[key] for key in sorted(found))


def judge(report: dict[str, Any], allowlist: AllowList, today: dt.date) -> Verdict:
    threshold = SEVERITIES.index(allowlist.fail_on)
    current = {(e.id, e.package): e for e in allowlist.allow if e.expires >= today}
    expired = tuple(e for e in allowlist.allow if e.expires < today)
    blocking, allowed, used, below = [], [], set(), 0
    for finding in findings(report):
        entry = current.get((finding.id, finding.package))
        if SEVERITIES.index(finding.severity) < threshold:
            below += 1
        elif entry is None:
            blocking.append(finding)
        else:
            allowed.append((finding, entry))
        if entry is not None:
            used.add((entry.id, entry.package))
    unused = tuple(e for key, e in current.items() if key not in used)
    return Verdict(tuple(blocking), tuple(allowed), expired, unused, below)

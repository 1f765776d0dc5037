"""Where users' traffic goes: the facility's service names and which cluster they point at (the DNS/LB switch).

The facility's service names (e.g. `jupyter.eaf.fnal.gov`) are CNAMEs to the active cluster's ingress
(`<name>.apps.<cluster>.<baseDomain>`, answered by OKD's `*.apps` wildcard). Switching the active cluster means
repointing those CNAMEs. How that is done is site business, so it is a pluggable `TrafficSwitch`:

- `ManualDnsSwitch` (Fermilab): site DNS is run by the network team; a change is a ticket. `point` prints the exact
  records to request and stops the migration (StepBlocked) until the names resolve to the new target; the re-run
  then finds them switched and continues. `current` asks the resolver (canonical name of the service name).
- `ZoneFileSwitch`: the CNAMEs are lines in a zone include file (BIND `$INCLUDE`, dnsmasq `cname=` style is one
  format away) that this site's DNS server reads; `point` rewrites the file atomically. The tests use it, and a
  site whose DNS is file-managed can too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol


class StepBlocked(RuntimeError):  # noqa: N818 - a wait for people, not an error
    """The step needs an action outside this tool; re-run the migration once it is done."""


class TrafficSwitch(Protocol):
    def describe(self) -> str: ...

    def current(self, name: str) -> str | None:
        """The name `name` points at now (its CNAME target), None if it does not resolve."""

    def point(self, targets: Mapping[str, str]) -> None:
        """Make each service name point at its target (name -> target)."""


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower()


class ZoneFileSwitch:
    """CNAME records in a zone include file: `<name>. 300 IN CNAME <target>.`, one a line, sorted."""

    def __init__(self, path: Path, ttl: int = 300) -> None:
        self.path = path
        self.ttl = ttl

    def describe(self) -> str:
        return f"CNAME records in zone file {self.path}"

    def records(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        found = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            fields = line.split(";", 1)[0].split()
            if len(fields) == 5 and fields[2:4] == ["IN", "CNAME"]:
                found[_fqdn(fields[0])] = _fqdn(fields[4])
        return found

    def current(self, name: str) -> str | None:
        return self.records().get(_fqdn(name))

    def point(self, targets: Mapping[str, str]) -> None:
        records = {**self.records(), **{_fqdn(k): _fqdn(v) for k, v in targets.items()}}
        text = "; the facility's service names -> the active EAF cluster (written by infra/ops/migrate.py)\n" + "".join(
            f"{name}. {self.ttl} IN CNAME {target}.\n" for name, target in sorted(records.items()))
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.path)  # the DNS server never reads half a file


class ManualDnsSwitch:
    """Site DNS changed by people (a ticket to the network team): print the request, wait for it to take effect."""

    def __init__(self, resolve=socket.gethostbyname_ex) -> None:
        self._resolve = resolve

    def describe(self) -> str:
        return "site DNS, changed on request by the DNS administrators"

    def current(self, name: str) -> str | None:
        try:
            canonical, _aliases, _addresses = self._resolve(name)
        except OSError:
            return None
        return _fqdn(canonical)

    def point(self, targets: Mapping[str, str]) -> None:
        pending = {name: target for name, target in sorted(targets.items()) if self.current(name) != _fqdn(target)}
        if not pending:
            return
        request = "\n".join(f"    {name}. IN CNAME {target}." for name, target in pending.items())
        raise StepBlocked(
            "ask the DNS administrators to change these records (and lower the TTL beforehand):\n" + request
            + "\nthen re-run the same migration command: it continues here once the names resolve to the new "
            "cluster")


def targets_for(service_names: Sequence[str], cluster_domain: str) -> dict[str, str]:
    """Service name -> the cluster's ingress name for it: `<first label>.apps.<cluster domain>`."""
    return {name: f"{_fqdn(name).split('.')[0]}.apps.{cluster_domain}" for name in service_names}

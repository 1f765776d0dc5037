"""The site's DHCP/DNS for bridge-mode clusters, as a dnsmasq configuration made from `siteNetworkRecords` only.

A bridge-mode stack (dev, prod) exports `siteNetworkRecords` (infra/plan/site.py): the DHCP reservation per MAC that
first boot needs and the DNS records OKD needs. This turns one or more of those exports, plus what only the site
knows (the subnets its DHCP/DNS server has an address in, their routers), into a dnsmasq configuration that serves
exactly them: reservations only (an unknown MAC gets no lease), the clusters' names answered locally, nothing
forwarded. `dhcp=False` gives DNS only, for a site whose nodes come up with static addresses.

The facility's service names (the migration's CNAMEs, infra/ops/traffic.py) come from the zone include file the
migration's `ZoneFileSwitch` writes: each CNAME target must be a name the records answer (exactly, or under a
wildcard such as `*.apps.<cluster>`), since dnsmasq only follows CNAMEs to names it holds itself.

`python -m infra site-dnsmasq` is the command line (infra/cli/site_dnsmasq.py); the multi-host tier
(tests/multihost) runs its site DNS stand-in from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from infra import templates

TEMPLATES = Path(__file__).parent / "templates"
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
RECORD_TYPES = ("A", "CNAME")


class SiteRecordsError(ValueError):
    """Input the configuration cannot be made from: says where, what, why and how to fix it."""

    def __init__(self, where: str, value: object, why: str, fix: str) -> None:
        self.where, self.value, self.why, self.fix = where, value, why, fix
        super().__init__(f"{where} = {value!r}\n  why: {why}\n  fix: {fix}")


@dataclass(frozen=True)
class Reservation:
    node: str
    mac: str
    ip: IPv4Address
    hostname: str  # the node's FQDN


@dataclass(frozen=True)
class DnsRecord:
    name: str  # a FQDN, or `*.<domain>` for a wildcard
    type: str  # A | CNAME
    value: str  # an IPv4 address (A) or a FQDN (CNAME)


@dataclass(frozen=True)
class SiteRecords:
    """One cluster's `siteNetworkRecords`, checked."""

    source: str  # where they came from, for messages
    domain: str  # the cluster domain: every node's hostname is <label>.<domain>
    dhcp: tuple[Reservation, ...]
    dns: tuple[DnsRecord, ...]


@dataclass(frozen=True)
class Subnet:
    """A subnet the DHCP/DNS server sits on: its own address there (ADDRESS/PREFIX) and the subnet's router."""

    interface: IPv4Interface
    router: IPv4Address | None = None  # None: dnsmasq's own address

    @property
    def network(self) -> IPv4Network:
        return self.interface.network


@dataclass(frozen=True)
class DnsmasqFiles:
    """Where dnsmasq keeps its state; None leaves dnsmasq's default (or the command line's) in charge."""

    lease_file: Path | None = None
    log_file: Path | None = None


# ---- reading -----------------------------------------------------------------------------------------------------

def _name(value: object, where: str, wildcard: bool = False) -> str:
    text = str(value).rstrip(".").lower() if isinstance(value, str) else value
    bare = text[2:] if wildcard and isinstance(text, str) and text.startswith("*.") else text
    if not isinstance(bare, str) or not _NAME.match(bare):
        raise SiteRecordsError(where, value, "not a DNS name (letters, digits, '-', at least two labels)"
                               + (", optionally starting with '*.'" if wildcard else ""),
                               "export the records again with `pulumi stack output siteNetworkRecords --json`")
    return text


def _ip(value: object, where: str) -> IPv4Address:
    try:
        return IPv4Address(str(value))
    except ValueError:
        raise SiteRecordsError(where, value, "not an IPv4 address", "give a dotted IPv4 address") from None


def _entries(document: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    entries = document.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise SiteRecordsError(f"{source}: {key}", entries, "expected a list of records",
                               "pass the JSON of `pulumi stack output siteNetworkRecords --json` as it is")
    return entries


def parse_site_records(document: object, source: str) -> SiteRecords:
    """`siteNetworkRecords` as exported (`{"dhcp": [...], "dns": [...]}`), checked value by value."""
    if not isinstance(document, Mapping):
        raise SiteRecordsError(source, type(document).__name__, "expected the siteNetworkRecords mapping",
                               "pulumi stack output siteNetworkRecords --json -s STACK > FILE")
    dhcp = []
    for i, entry in enumerate(_entries(document, "dhcp", source)):
        where = f"{source}: dhcp[{i}]"
        mac = str(entry.get("mac", "")).lower()
        if not _MAC.match(mac):
            raise SiteRecordsError(f"{where}.mac", entry.get("mac"), "not a MAC address", "aa:bb:cc:dd:ee:ff")
        dhcp.append(Reservation(str(entry.get("node", "")), mac, _ip(entry.get("ip"), f"{where}.ip"),
                                _name(entry.get("hostname"), f"{where}.hostname")))
    if not dhcp:
        raise SiteRecordsError(f"{source}: dhcp", [], "no node: the cluster domain cannot be told",
                               "export the records of a stack that has nodes")
    domains = sorted({r.hostname.split(".", 1)[1] for r in dhcp})
    if len(domains) != 1:
        raise SiteRecordsError(f"{source}: dhcp[*].hostname", domains, "the nodes are in several domains",
                               "give each cluster's records in a file of their own")
    dns = []
    for i, entry in enumerate(_entries(document, "dns", source)):
        where = f"{source}: dns[{i}]"
        kind = entry.get("type")
        if kind not in RECORD_TYPES:
            raise SiteRecordsError(f"{where}.type", kind, "a record type this converter does not serve",
                                   f"use one of: {', '.join(RECORD_TYPES)}")
        name = _name(entry.get("name"), f"{where}.name", wildcard=kind == "A")
        value = str(_ip(entry.get("value"), f"{where}.value")) if kind == "A" else _name(entry.get("value"),
                                                                                          f"{where}.value")
        dns.append(DnsRecord(name, kind, value))
    return SiteRecords(source, domains[0], tuple(dhcp), tuple(dns))


def read_site_records(path: Path) -> SiteRecords:
    """A file holding `pulumi stack output siteNetworkRecords --json`, or all outputs (`pulumi stack output --json`)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SiteRecordsError(str(path), None, f"cannot read JSON: {error}",
                               "pulumi stack output siteNetworkRecords --json -s STACK > FILE") from None
    if isinstance(document, Mapping) and "siteNetworkRecords" in document:
        document = document["siteNetworkRecords"]
    elif isinstance(document, Mapping) and "dhcp" not in document:
        raise SiteRecordsError(str(path), sorted(document), "no siteNetworkRecords in these outputs",
                               "only bridge-mode stacks export them (eaf:network.mode: bridge)")
    return parse_site_records(document, str(path))


# ---- checking across clusters -----------------------------------------------------------------------------------

def _subnet_of(ip: IPv4Address, subnets: Sequence[Subnet]) -> Subnet | None:
    return next((s for s in subnets if ip in s.network), None)


def _check_unique(clusters: Sequence[SiteRecords]) -> None:
    macs: dict[str, str] = {}
    ips: dict[IPv4Address, str] = {}
    for records in clusters:
        for r in records.dhcp:
            who = f"{records.source}: {r.node}"
            for seen, key in ((macs, r.mac), (ips, r.ip)):
                if key in seen:
                    raise SiteRecordsError(who, str(key), f"already reserved for {seen[key]}",
                                           "two clusters on one site network need distinct MACs and addresses")
                seen[key] = who


def _check_subnets(clusters: Sequence[SiteRecords], subnets: Sequence[Subnet], dhcp: bool) -> None:
    if not subnets:
        raise SiteRecordsError("subnets", [], "the server needs an address on the site network to listen on",
                               "give --subnet ADDRESS/PREFIX (the server's own address there)")
    for subnet in subnets:
        if subnet.router is not None and subnet.router not in subnet.network:
            raise SiteRecordsError(f"subnet {subnet.interface}", str(subnet.router), "router outside the subnet",
                                   f"give a router inside {subnet.network}")
    if not dhcp:
        return
    for records in clusters:
        for r in records.dhcp:
            if _subnet_of(r.ip, subnets) is None:
                raise SiteRecordsError(f"{records.source}: {r.node}", str(r.ip),
                                       "in no subnet this server has an address in, so it could not lease it",
                                       f"add --subnet for its network (served: "
                                       f"{', '.join(str(s.network) for s in subnets)})")


def _address_of(name: str, clusters: Sequence[SiteRecords]) -> list[str]:
    """The A values the records give `name`: its own records, else the closest wildcard that covers it."""
    exact = [d.value for c in clusters for d in c.dns if d.type == "A" and d.name == name]
    if exact:
        return exact
    parts = name.split(".")
    for i in range(1, len(parts) - 1):
        wildcard = "*." + ".".join(parts[i:])
        found = [d.value for c in clusters for d in c.dns if d.type == "A" and d.name == wildcard]
        if found:
            return found
    return []


# ---- rendering ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _DnsLines:
    host_records: tuple[tuple[str, str], ...]  # (name, address), one A record each
    wildcards: tuple[tuple[str, str], ...]  # (suffix, address) for *.<suffix>
    cnames: tuple[tuple[str, str], ...]  # (name, target)


def _dns_lines(clusters: Sequence[SiteRecords], cnames: Mapping[str, str]) -> _DnsLines:
    host_records: dict[str, list[str]] = {}
    wildcards: set[tuple[str, str]] = set()
    cname_lines: set[tuple[str, str]] = set()
    for record in (r for c in clusters for r in c.dns):
        if record.type == "CNAME":
            cname_lines.add((record.name, record.value))
        elif record.name.startswith("*."):
            wildcards.add((record.name[2:], record.value))
        elif record.value not in host_records.setdefault(record.name, []):
            host_records[record.name].append(record.value)
    for name, target in sorted(cnames.items()):
        name, target = _name(name, f"CNAME {name}"), _name(target, f"CNAME {name} -> target")
        addresses = _address_of(target, clusters)
        if not addresses:
            raise SiteRecordsError(f"CNAME {name}", target, "the target is in none of the records given, and "
                                   "dnsmasq answers a CNAME only with a target it holds itself",
                                   "give the records of the cluster the name points at")
        cname_lines.add((name, target))
        # A name under a wildcard: dnsmasq follows a CNAME only to a name spelled out.
        host_records.setdefault(target, addresses)
    return _DnsLines(tuple((n, a) for n, addresses in sorted(host_records.items())
                           for a in sorted(addresses, key=IPv4Address)),
                     tuple(sorted(wildcards)), tuple(sorted(cname_lines)))


def dnsmasq_config(clusters: Sequence[SiteRecords], subnets: Sequence[Subnet], dhcp: bool = True,
                   cnames: Mapping[str, str] | None = None, lease_time: str = "1h",
                   files: DnsmasqFiles | None = None) -> str:
    """The dnsmasq configuration serving `clusters` on `subnets`. Deterministic: same input, same bytes."""
    _check_subnets(clusters, subnets, dhcp)
    _check_unique(clusters)
    files = files or DnsmasqFiles()
    dns = _dns_lines(clusters, cnames or {})
    served = [{"tag": f"subnet{i}", "network": s.network.network_address, "netmask": s.network.netmask,
               "router": s.router} for i, s in enumerate(subnets)] if dhcp else []
    # A tag per cluster carries its domain (DHCP option 15), so two clusters may share a subnet.
    domains = [{"tag": f"cluster{i}", "domain": c.domain, "source": c.source} for i, c in enumerate(clusters)]
    reservations = sorted((r.ip, r.mac, f"cluster{i}", r.hostname.split(".", 1)[0])
                          for i, c in enumerate(clusters) for r in c.dhcp) if dhcp else []
    return templates.render(
        TEMPLATES, "site-dnsmasq.conf.j2",
        listen=[s.interface.ip for s in subnets], domains=domains, dhcp=dhcp, subnets=served,
        lease_time=lease_time, reservations=reservations, host_records=dns.host_records,
        wildcards=dns.wildcards, cnames=dns.cnames, lease_file=files.lease_file, log_file=files.log_file,
    )

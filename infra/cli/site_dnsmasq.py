"""`python -m infra site-dnsmasq RECORDS.json... --subnet ADDRESS/PREFIX`: the site's DHCP/DNS as dnsmasq config.

RECORDS.json is `pulumi stack output siteNetworkRecords --json -s STACK` (or the whole `pulumi stack output --json`)
of each bridge-mode cluster the server serves. --subnet names the server's own address on each site subnet (and,
after a comma, `router=GATEWAY` when the router is another machine). --no-dhcp serves DNS only (nodes with static
first-boot addresses). --cname-zone adds the facility's service names from the zone include file the migration
writes (`python -m infra migrate --dns-zone-file`). Writes to --out, or prints. Exit 2 on bad input, saying why.

  dnsmasq --keep-in-foreground --conf-file=site.conf
"""

from __future__ import annotations

import argparse
import sys
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path


def _subnet(text: str):
    from infra.ops.site_dnsmasq import Subnet

    address, _, rest = text.partition(",")
    router = None
    if rest:
        key, _, value = rest.partition("=")
        if key != "router" or not value:
            raise argparse.ArgumentTypeError(f"{text!r}: expected ADDRESS/PREFIX[,router=GATEWAY]")
        router = IPv4Address(value)
    if "/" not in address:
        raise argparse.ArgumentTypeError(f"{text!r}: give the prefix too, e.g. 10.42.16.2/24")
    return Subnet(IPv4Interface(address), router)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("site-dnsmasq", help="site DHCP/DNS as dnsmasq config, from siteNetworkRecords",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", nargs="+", type=Path, metavar="RECORDS.json")
    parser.add_argument("--subnet", action="append", type=_subnet, required=True, metavar="ADDRESS/PREFIX",
                        help="the server's address on a site subnet, optionally ',router=GATEWAY' (repeat per subnet)")
    parser.add_argument("--no-dhcp", action="store_true", help="DNS only: the nodes' addresses are static")
    parser.add_argument("--cname-zone", type=Path, metavar="FILE", help="CNAMEs to serve (a zone include file)")
    parser.add_argument("--lease-time", default="1h")
    parser.add_argument("--lease-file", type=Path)
    parser.add_argument("--log-file", type=Path, help="log queries and DHCP there")
    parser.add_argument("--out", type=Path, help="write the config here (default: print it)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.ops.site_dnsmasq import DnsmasqFiles, SiteRecordsError, dnsmasq_config, read_site_records
    from infra.ops.traffic import ZoneFileSwitch

    try:
        clusters = [read_site_records(path) for path in args.records]
        cnames = ZoneFileSwitch(args.cname_zone).records() if args.cname_zone else {}
        text = dnsmasq_config(clusters, args.subnet, dhcp=not args.no_dhcp, cnames=cnames,
                              lease_time=args.lease_time, files=DnsmasqFiles(args.lease_file, args.log_file))
    except SiteRecordsError as error:
        print(f"site-dnsmasq: {error}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
    else:
        partial = args.out.with_name(args.out.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(args.out)  # a server restarted meanwhile never reads half a file
    return 0

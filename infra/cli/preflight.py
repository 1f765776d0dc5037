"""`python -m infra preflight --stack STACK`: can every hypervisor of the stack take its VMs? Read-only.

Connects to each host's libvirt URI and checks reachability, free vCPUs and RAM after the other VMs there, room in
the storage pool, the cluster network (bridge present, or no overlapping libvirt network), and every GPU the plan
passes through (exists, used by no other VM, alone in its IOMMU group). Prints a table; exits 1 if any check fails.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("preflight", help="check a stack's hypervisors before `pulumi up`",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev, prod-a, local")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.ops.preflight import preflight, render_checks
    from infra.spec.errors import ConfigError
    from infra.spec.offline import load_offline

    try:
        loaded = load_offline(args.stack)
    except ConfigError as error:
        print(error)
        return 2
    checks = preflight(loaded)
    print(render_checks(checks))
    failed = [c for c in checks if not c.ok]
    print(f"\npreflight {args.stack}: {len(checks) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0

"""`python -m infra local-report --stack local`: what every VM of a stack on this machine reports about itself.

For each VM: libvirt state, the address it leased vs the planned one, its DNS answers for api, api-int and a name
under *.apps, and the sha256 of the Ignition it read through fw_cfg vs the one the program generated (the stack
output `ignitionSha256`). Waits (bounded) for the VMs' probe lines. Exits 1 if any VM disagrees with the plan.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("local-report", help="compare what the local stack's VMs report with the plan",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local", help="a stack whose hosts are this machine (default: local)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the probe lines")
    parser.set_defaults(run=run)


def stack_output(stack: str, name: str) -> object:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise SystemExit("pulumi is not on PATH: source scripts/env.sh (scripts/bootstrap-engine.sh builds it)")
    done = subprocess.run([pulumi, "stack", "output", name, "--json", "--stack", stack],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def domain_states(uri: str) -> dict[str, str]:
    import libvirt

    names = {1: "running", 2: "blocked", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed",
             7: "suspended"}
    conn = libvirt.open(uri)
    try:
        return {d.name(): names.get(d.state()[0], "unknown") for d in conn.listAllDomains()}
    finally:
        conn.close()


def run(args: argparse.Namespace) -> int:
    from infra.ops.local_report import check_cluster, render_table
    from infra.spec.offline import load_offline

    loaded = load_offline(args.stack)
    (uri,) = {h.uri for h in loaded.plan.hosts}
    generated = stack_output(args.stack, "ignitionSha256")
    checks = check_cluster(loaded.plan, lambda: domain_states(uri), generated, timeout_s=args.timeout)
    print(render_table(checks))
    bad = [c for c in checks if not c.ok]
    print(f"\n{args.stack}: {len(checks) - len(bad)} of {len(checks)} VMs match the plan")
    return 1 if bad else 0

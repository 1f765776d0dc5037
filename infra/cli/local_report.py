"""`python -m infra local-report --stack local`: what every VM of a stack on this machine reports about itself.

For each VM: the host libvirt runs it on (every host of the stack is asked over its URI) vs the planned one, libvirt
state, the address it leased vs the planned one, its DNS answers for api, api-int and a name under *.apps, and the
sha256 of the Ignition it read through fw_cfg vs the one the program generated (the stack output
`ignitionSha256`). Waits (bounded) for the VMs' probe lines, read from each host's serial logs: on this machine
(/var/log/libvirt/qemu), or where --serial-log-dir HOST=DIR says a host's logs are readable here. Exits 1 if any VM
disagrees with the plan.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path


def _log_dir(text: str) -> tuple[str, Path]:
    host, sep, folder = text.partition("=")
    if not sep or not host or not folder:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST=DIR")
    return host, Path(folder)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("local-report", help="compare what the local stack's VMs report with the plan",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local", help="a stack whose hosts are this machine (default: local)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the probe lines")
    parser.add_argument("--serial-log-dir", type=_log_dir, action="append", default=[], metavar="HOST=DIR",
                        help="where this host's serial logs are readable here (repeat per host)")
    parser.set_defaults(run=run)


def stack_output(stack: str, name: str) -> object:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise SystemExit("pulumi is not on PATH: source scripts/env.sh (scripts/bootstrap-engine.sh builds it)")
    done = subprocess.run([pulumi, "stack", "output", name, "--json", "--stack", stack],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


_STATES = {1: "running", 2: "blocked", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed", 7: "suspended"}


def host_domains(uri: str) -> dict[str, str]:
    """Every domain on one hypervisor, with its state."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        return {d.name(): _STATES.get(d.state()[0], "unknown") for d in conn.listAllDomains()}
    finally:
        conn.close()


def domains_on(hosts: list[tuple[str, str]]):
    """Domain name -> DomainSeen over all hosts (name, URI): where each domain is, in the hosts' order."""
    from infra.ops.local_report import DomainSeen

    seen: dict[str, DomainSeen] = {}
    for host, uri in hosts:
        for name, state in host_domains(uri).items():
            before = seen.get(name)
            # On several hosts (a problem the report names): the state shown is the running one, if any.
            shown = state if before is None or state == "running" else before.state
            seen[name] = DomainSeen(shown, (*(before.hosts if before else ()), host))
    return seen


def run(args: argparse.Namespace) -> int:
    from infra.ops.local_report import check_cluster, render_table, serial_log
    from infra.spec.offline import load_offline

    loaded = load_offline(args.stack)
    hosts = [(h.name, h.uri) for h in loaded.plan.hosts]
    log_dirs = dict(args.serial_log_dir)
    unknown = sorted(set(log_dirs) - {name for name, _ in hosts})
    if unknown:
        print(f"local-report: --serial-log-dir names {', '.join(unknown)}, not hosts of stack {args.stack}")
        return 2

    def log_of(node) -> Path:
        folder = log_dirs.get(node.host)
        return folder / f"{node.domain_name}-serial.log" if folder else serial_log(node.domain_name)

    generated = stack_output(args.stack, "ignitionSha256")
    checks = check_cluster(loaded.plan, lambda: domains_on(hosts), generated, timeout_s=args.timeout,
                           serial_log_of=log_of)
    print(render_table(checks))
    bad = [c for c in checks if not c.ok]
    print(f"\n{args.stack}: {len(checks) - len(bad)} of {len(checks)} VMs match the plan")
    return 1 if bad else 0

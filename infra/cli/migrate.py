"""`python -m infra migrate --id ID [--execute] ...`: move production from the active to the spare cluster.

Dry run by default: prints the plan and what the journal says is done; changes nothing. With --execute it runs the
steps of docs/migration.md, recording each in .work/migrations/<ID>.json; re-run the same command after a failure
or a wait (exit 3: e.g. a DNS change requested) and it continues where it stopped.

The direction comes from the stack files (the active stack -> the spare one), or from the journal once started.
Data moves between --from-data and --to-data (folders: mounted volumes of each cluster's storage). Service names
are switched in --dns-zone-file if given, else through the site DNS administrators (the step waits for them).
Exit: 0 done/planned, 1 a step failed, 2 bad inputs, 3 waiting for an outside action.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.paths import PROJECT_DIR

DEFAULT_JOURNAL_DIR = PROJECT_DIR / ".work" / "migrations"


class _NotGiven:
    """Where data would come from when no transport was given: enough to print a plan, refuses to act."""

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def describe(self) -> str:
        return f"(no transport: give {self.flag})"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate", help="move production from the active to the spare cluster (dry run unless --execute)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--id", required=True, dest="migration_id",
                        help="this migration's name, e.g. 2026-11-25-prod-a-to-prod-b (its journal's name)")
    parser.add_argument("--execute", action="store_true", help="act (default: print the plan only)")
    parser.add_argument("--from", dest="from_stack", help="the active stack (default: from the stack files)")
    parser.add_argument("--to", dest="to_stack", help="the spare stack (default: from the stack files)")
    parser.add_argument("--from-data", type=Path, metavar="DIR", help="the active cluster's data root (a folder)")
    parser.add_argument("--to-data", type=Path, metavar="DIR", help="the spare cluster's data root (a folder)")
    parser.add_argument("--dns-zone-file", type=Path, metavar="FILE",
                        help="switch the service names in this zone include file (default: ask the DNS admins)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--journal-dir", type=Path, default=DEFAULT_JOURNAL_DIR, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _direction(args: argparse.Namespace) -> tuple[str, str]:
    from infra.ops.migrate import direction

    if args.from_stack and args.to_stack:
        return args.from_stack, args.to_stack
    journal = args.journal_dir / f"{args.migration_id}.json"
    if journal.is_file():  # once started, the roles in the stack files change: the journal knows the direction
        inputs = json.loads(journal.read_text(encoding="utf-8"))["inputs"]
        return inputs["from"], inputs["to"]
    return direction(args.project_dir)


def run(args: argparse.Namespace) -> int:
    from infra.ops.datasync import LocalDirectory
    from infra.ops.migrate import Migration, MigrationError, load_migration_data
    from infra.ops.migrate import run as run_migration
    from infra.ops.stack_ops import AutomationStackOps
    from infra.ops.traffic import ManualDnsSwitch, ZoneFileSwitch

    try:
        from_stack, to_stack = _direction(args)
    except MigrationError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 2
    if args.execute and (args.from_data is None or args.to_data is None):
        print("migrate: --execute needs --from-data and --to-data (each cluster's data root, e.g. mounted volumes); "
              "a cluster transport plugs in as an infra.ops.datasync.Endpoint", file=sys.stderr)
        return 2
    migration = Migration(
        migration_id=args.migration_id, project_dir=args.project_dir, from_stack=from_stack, to_stack=to_stack,
        data=load_migration_data(),
        source=LocalDirectory(args.from_data) if args.from_data else _NotGiven("--from-data"),
        destination=LocalDirectory(args.to_data) if args.to_data else _NotGiven("--to-data"),
        switch=ZoneFileSwitch(args.dns_zone_file) if args.dns_zone_file else ManualDnsSwitch(),
        journal_dir=args.journal_dir,
        make_ops=lambda: AutomationStackOps(args.project_dir),
    )
    try:
        return run_migration(migration, execute=args.execute)
    except MigrationError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 2

"""`python -m infra <command>`: the project's command line, one small module per command.

A command module has `register(subparsers)`, which adds its parser and sets `run` (args -> exit code) as the
parser's default. To add a command, add its module to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from infra.paths import PROJECT_DIR

__all__ = ["COMMANDS", "PROJECT_DIR", "build_parser", "main"]  # commands take PROJECT_DIR from here

COMMANDS = (
    "infra.cli.render",
    "infra.cli.preflight",
    "infra.cli.local_report",
    "infra.cli.config_reference",
    "infra.cli.affected_stacks",
    "infra.cli.preview_summary",
    "infra.cli.migrate",
    "infra.cli.up",
    "infra.cli.checkpoint",
    "infra.cli.notebook_image",
    "infra.cli.site_dnsmasq",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description="eaf-infra tools that run without Pulumi.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # A command that hands options on to `pulumi` (`up`) sets `pass_through`; any other refuses unknown options.
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "pass_through", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = [a for a in rest if a != "--"]
    return int(args.run(args))

"""`python -m infra config-reference`: print the stack config reference (docs/config.md) from the spec models."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config-reference", help="print the stack config reference (docs/config.md)",
                                   description=__doc__)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.spec.reference import config_reference

    print(config_reference(), end="")
    return 0

"""`python -m infra affected-stacks [--base REV | FILE ...]`: the deployable stacks a change touches, one a line.

The merge request pipeline previews exactly these (infra/ops/affected_stacks.py has the rules). Changed files come
from `git diff --name-only REV...HEAD` with `--base` (in GitLab: $CI_MERGE_REQUEST_DIFF_BASE_SHA), else from the
FILE arguments, else from stdin (one path a line).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from infra.paths import PROJECT_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "affected-stacks", help="the deployable stacks a change touches (what the MR pipeline previews)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="changed paths, relative to the repo root")
    parser.add_argument("--base", metavar="REV", help="compare HEAD with this revision (merge base diff)")
    parser.set_defaults(run=run)


def _changed_since(base: str) -> list[str]:
    completed = subprocess.run(["git", "diff", "--name-only", f"{base}...HEAD"], cwd=PROJECT_DIR,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"git diff --name-only {base}...HEAD failed: {completed.stderr.strip()}")
    return completed.stdout.splitlines()


def run(args: argparse.Namespace) -> int:
    from infra.ops.affected_stacks import affected_stacks

    if args.base and args.files:
        print("affected-stacks: give --base or FILE arguments, not both", file=sys.stderr)
        return 2
    try:
        files = _changed_since(args.base) if args.base else (args.files or sys.stdin.read().splitlines())
    except RuntimeError as error:
        print(f"affected-stacks: {error}", file=sys.stderr)
        return 2
    for stack in affected_stacks(files, PROJECT_DIR):
        print(stack)
    return 0

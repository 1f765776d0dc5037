"""`python -m infra up --stack STACK [pulumi up options]`: the way to run `pulumi up` of dev and prod.

Checks the stack's state backend and secrets provider against infra/data/state.yaml, gives the engine the stack's
own passphrase (from EAF_PASSPHRASE_<STACK>), exports a checkpoint of the current state and keeps the newest N
(infra/ops/guarded_up.py), then runs `pulumi up --stack STACK` with the options given after the stack. Restore a
checkpoint with `python -m infra checkpoint restore`. Exit: pulumi's exit code, or 2 when refused before it starts.

When that `up` completed OKD's bootstrap (the stack output okdBootstrap says bootstrap-complete succeeded while the
bootstrap VM was still planned, and eaf:okd.install.removeBootstrap is auto), it runs a second pass, checkpoint and
`pulumi up` with the same options, which removes the bootstrap VM (infra/okd/bootstrap_retirement.py says why it
takes a second evaluation).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from infra.paths import PROJECT_DIR


def checkpoint_root(args: argparse.Namespace) -> Path:
    from infra.ops.checkpoints import default_root

    return args.checkpoint_dir or default_root(args.project_dir, os.environ)


class _Once(argparse.Action):
    """A second --stack would leave which stack is meant to the order of the options: refused."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error("give the stack once, as --stack before the pulumi options")
        setattr(namespace, self.dest, values)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, action=_Once, help="stack name, e.g. prod-b, dev, local")
    parser.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                        help="where checkpoints live, one folder per stack (default: $EAF_CHECKPOINT_DIR, "
                             "else .work/checkpoints)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("up", help="checkpoint, then `pulumi up` of a stack (the way to run prod)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser)
    parser.set_defaults(run=run, pass_through=True)  # every other option goes to `pulumi up`, e.g. --yes --diff


def _bootstrap_record(project_dir: Path, stack: str, env: dict[str, str]) -> dict | None:
    """The stack's okdBootstrap output after an `up` (None when it has none)."""
    import json

    result = subprocess.run(["pulumi", "stack", "output", "--json", "--stack", stack], cwd=project_dir, env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    try:
        record = json.loads(result.stdout).get("okdBootstrap")
    except (ValueError, AttributeError):
        return None
    return record if isinstance(record, dict) else None


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from infra.okd.bootstrap_retirement import second_pass_needed
    from infra.ops.checkpoints import CheckpointError, CheckpointStore, PulumiCli
    from infra.ops.guarded_up import RunRefused, prepare_up
    from infra.ops.state_policy import StatePolicyError, load_policy

    if any(a in ("-s", "--stack") or a.startswith(("-s", "--stack=")) for a in args.rest):
        print("infra up: give the stack once, as --stack before the pulumi options", file=sys.stderr)
        return 2
    policy = load_policy()
    store = CheckpointStore(checkpoint_root(args), policy.checkpoints.keep)

    def one_pass() -> tuple[int, dict[str, str]]:
        try:
            prepared = prepare_up(args.stack, os.environ, args.project_dir, policy, store,
                                  lambda env: PulumiCli(args.project_dir, env), lambda: datetime.now(UTC))
        except (RunRefused, StatePolicyError, CheckpointError) as error:
            print(f"infra up: {error}", file=sys.stderr)
            return 2, {}
        kept = len(store.list(args.stack))
        print(f"checkpoint: {prepared.checkpoint} ({kept} kept, newest {policy.checkpoints.keep}); "
              f"restore: python -m infra checkpoint restore --stack {args.stack} --file {prepared.checkpoint}",
              flush=True)
        code = subprocess.run(["pulumi", "up", "--stack", args.stack, *args.rest], cwd=args.project_dir,
                              env=prepared.env, check=False).returncode
        return code, prepared.env

    return up_with_bootstrap_removal(one_pass, lambda env: _bootstrap_record(args.project_dir, args.stack, env),
                                     second_pass_needed)


def up_with_bootstrap_removal(one_pass, read_record, needed) -> int:
    """One `pulumi up`; a second one when the first completed the bootstrap and the VM is to go (at most two)."""
    code, env = one_pass()
    if code != 0 or not needed(read_record(env)):
        return code
    print("infra up: bootstrap-complete has succeeded and eaf:okd.install.removeBootstrap is auto: a second pass "
          "removes the bootstrap VM", flush=True)
    return one_pass()[0]

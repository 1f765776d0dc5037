"""`python -m infra checkpoint {export,list,restore} --stack STACK`: a stack's exported checkpoints.

export   `pulumi stack export` into <dir>/<stack>/<stack>-<UTC time>.json; keeps the newest N (infra/data/state.yaml)
list     the stack's checkpoints, oldest first, with their resource counts
restore  `pulumi stack import` of --file (a checkpoint of this stack), after exporting the state it replaces.
         Then `pulumi preview --stack STACK --diff` shows how the restored state differs from what runs, and
         `pulumi refresh --stack STACK` reconciles it with the real resources.
The stack's passphrase comes from EAF_PASSPHRASE_<STACK> as for `python -m infra up`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infra.cli.up import add_common, checkpoint_root


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("checkpoint", help="export, list or restore a stack's state checkpoints",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("export", "list", "restore"))
    add_common(parser)
    parser.add_argument("--file", type=Path, help="restore: the checkpoint to put back")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.ops.checkpoints import (
        CheckpointError,
        CheckpointStore,
        PulumiCli,
        export_checkpoint,
        read_checkpoint,
        resource_count,
        restore_checkpoint,
    )
    from infra.ops.guarded_up import engine_environment
    from infra.ops.state_policy import StatePolicyError, load_policy
    from infra.spec.errors import ConfigError

    policy = load_policy()
    store = CheckpointStore(checkpoint_root(args), policy.checkpoints.keep)
    try:
        declared = policy.stack(args.stack)
        if args.action == "list":
            for path in store.list(args.stack):
                print(f"{path}  {resource_count(read_checkpoint(path, args.stack))} resources")
            return 0
        env, problems = engine_environment(declared, os.environ, policy)
        if problems:
            raise ConfigError(args.stack, problems)
        pulumi = PulumiCli(args.project_dir, env)
        if args.action == "export":
            print(export_checkpoint(store, args.stack, pulumi))
            return 0
        if args.file is None:
            print("infra checkpoint: restore needs --file CHECKPOINT", file=sys.stderr)
            return 2
        before = restore_checkpoint(store, args.stack, args.file, pulumi)
        print(f"restored {args.file} as the state of {args.stack}; the state it replaced: {before}\n"
              f"next: pulumi preview --stack {args.stack} --diff, then pulumi refresh --stack {args.stack}")
        return 0
    except (CheckpointError, StatePolicyError, ConfigError) as error:
        print(f"infra checkpoint: {error}", file=sys.stderr)
        return 2

"""What the migration asks of Pulumi, through the Automation API on this project's folder (LocalWorkspace).

Only what the runbook needs, and nothing that removes anything: there is no destroy, no `stack rm`, no
`state delete` here, so no migration step can call one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from infra.ops.checkpoints import CheckpointStore, PulumiCli, default_root, export_checkpoint

SECRET_MASK = "[secret]"


class StackOps(Protocol):
    def up(self, stack: str) -> dict[str, int]:
        """`pulumi up` of `stack`; returns the engine's resource change counts."""

    def get_config(self, stack: str, path: str) -> str | None: ...

    def set_config(self, stack: str, path: str, value: str) -> None: ...

    def outputs(self, stack: str) -> dict[str, Any]:
        """The stack's outputs, secret values replaced by "[secret]"."""

    def resource_count(self, stack: str) -> int:
        """How many resources the stack's state holds."""


class AutomationStackOps:
    """StackOps on a project folder with pulumi.automation: the stacks' own backend, config and secrets provider,
    as the CLI would use them (env: scripts/env.sh, plus each stack's passphrase or secrets provider). Every `up`
    starts from a checkpoint exported just before (infra/ops/checkpoints.py), as `python -m infra up` does; true to
    the migration's promise to delete nothing, older checkpoints are not pruned here."""

    def __init__(self, project_dir: Path, env_vars: Mapping[str, str] | None = None,
                 on_output: Callable[[str], None] = print, checkpoints: CheckpointStore | None = None) -> None:
        from infra.ops.state_policy import load_policy

        self.project_dir = project_dir
        self.env_vars = dict(env_vars or {})
        self.on_output = on_output
        self.checkpoints = checkpoints or CheckpointStore(
            default_root(project_dir, {**os.environ, **self.env_vars}), load_policy().checkpoints.keep)

    def _env(self, stack: str) -> dict[str, str]:
        """What this stack's engine runs get on top of os.environ: the given variables, and the stack's own
        passphrase from EAF_PASSPHRASE_<STACK> (the two prod stacks of a migration have one each)."""
        from infra.ops.guarded_up import engine_environment
        from infra.ops.state_guard import render
        from infra.ops.state_policy import load_policy

        policy = load_policy()
        base = {**os.environ, **self.env_vars}
        child, problems = engine_environment(policy.stack(stack), base, policy)
        if problems:
            raise RuntimeError(render(stack, problems))
        return {**self.env_vars, **{k: v for k, v in child.items() if base.get(k) != v}}

    def _stack(self, name: str, extra_env: Mapping[str, str] | None = None):
        from pulumi import automation as auto  # only when the engine is actually used

        options = auto.LocalWorkspaceOptions(env_vars={**self._env(name), **(extra_env or {})} or None)
        return auto.select_stack(stack_name=name, work_dir=str(self.project_dir), opts=options)

    def up(self, stack: str) -> dict[str, int]:
        from infra.ops.state_guard import CHECKPOINT_VARIABLE

        cli = PulumiCli(self.project_dir, {**os.environ, **self._env(stack)})
        checkpoint = export_checkpoint(self.checkpoints, stack, cli, prune=False)
        self.on_output(f"checkpoint of {stack} before the up: {checkpoint}")
        result = self._stack(stack, {CHECKPOINT_VARIABLE: str(checkpoint)}).up(on_output=self.on_output)
        return dict(sorted((result.summary.resource_changes or {}).items()))

    def get_config(self, stack: str, path: str) -> str | None:
        from pulumi.automation import CommandError

        try:
            return self._stack(stack).get_config(path, path=True).value
        except CommandError:
            return None

    def set_config(self, stack: str, path: str, value: str) -> None:
        from pulumi.automation import ConfigValue

        # --path edits the one key inside the structured value; the stack file keeps its comments and layout.
        self._stack(stack).set_config(path, ConfigValue(value=value), path=True)

    def outputs(self, stack: str) -> dict[str, Any]:
        return {key: SECRET_MASK if output.secret else output.value
                for key, output in sorted(self._stack(stack).outputs().items())}

    def resource_count(self, stack: str) -> int:
        deployment = self._stack(stack).export_stack().deployment or {}
        return len(deployment.get("resources") or ())

"""What `python -m infra up --stack STACK` does before it hands over to `pulumi up`.

1. The stack is declared in infra/data/state.yaml and deployable.
2. Its passphrase comes from its own variable (EAF_PASSPHRASE_<STACK>) into the engine's environment only; the
   sandbox passphrase goes to the local stack only; a key-service stack needs none.
3. The same checks as the program's guard (shared backend, no sandbox passphrase), plus the stack file's secrets
   provider against its declaration (initialised, and not with the sandbox passphrase).
4. A checkpoint of the current state is exported and the newest N kept; EAF_CHECKPOINT names it for the program.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from infra.ops.checkpoints import CheckpointStore, PulumiRunner, export_checkpoint
from infra.ops.secrets_provider import check_provider, read_provider
from infra.ops.state_guard import CHECKPOINT_VARIABLE, backend_problems, engine_passphrase, passphrase_problems, render
from infra.ops.state_policy import StackState, StatePolicy
from infra.spec.errors import Problem


class RunRefused(RuntimeError):  # noqa: N818 - a refusal with its reasons, not a crash
    pass


@dataclass(frozen=True)
class PreparedRun:
    env: dict[str, str]
    checkpoint: Path


def engine_environment(declared: StackState, env: Mapping[str, str],
                       policy: StatePolicy) -> tuple[dict[str, str], list[Problem]]:
    """The environment `pulumi` gets for this stack, with the passphrase that belongs to it."""
    child = dict(env)
    if declared.secrets == "sandbox":
        child.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        child["PULUMI_CONFIG_PASSPHRASE"] = policy.sandbox_passphrase
    elif declared.secrets == "passphrase":
        own = env.get(declared.passphrase_variable)
        if own:
            child.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
            child["PULUMI_CONFIG_PASSPHRASE"] = own
        elif engine_passphrase(env) is None:
            return child, [Problem(declared.passphrase_variable, "(not set)",
                                   f"stack {declared.stack}'s secrets passphrase is not set",
                                   f"export {declared.passphrase_variable} from your team's secret store (in CI: "
                                   "a masked, protected project variable)")]
    return child, []


def prepare_up(stack: str, env: Mapping[str, str], project_dir: Path, policy: StatePolicy,
               store: CheckpointStore, pulumi_for: Callable[[dict[str, str]], PulumiRunner],
               now: Callable[[], datetime]) -> PreparedRun:
    declared = policy.stack(stack)
    if declared.state == "baseline":
        raise RunRefused(f"stack {stack} is a baseline, not a deployable stack (infra/data/state.yaml)")
    child, problems = engine_environment(declared, env, policy)
    problems += backend_problems(declared, child, project_dir, policy)
    problems += passphrase_problems(declared, child, policy)
    problems += check_provider(declared, read_provider(project_dir, stack), policy, require_initialised=True)
    if problems:
        raise RunRefused(render(stack, problems))
    checkpoint = export_checkpoint(store, stack, pulumi_for(child), now)
    child[CHECKPOINT_VARIABLE] = str(checkpoint)
    return PreparedRun(child, checkpoint)

"""Refuse an engine run of a stack whose state or secrets are not kept the way infra/data/state.yaml says.

Runs inside the program (`guard_engine_run()`, called first by __main__.py), so every way of starting the engine
passes it: `pulumi up -s prod-b` from a laptop, the CI preview, the Automation API. It checks, from the environment
the CLI gave the program:
  - a `state: shared` stack (dev, prod-a, prod-b) runs against a shared backend (PULUMI_BACKEND_URL=postgres://...),
    never a file:// folder or an unknown one: planning prod against an empty local state would plan a fresh build;
  - no stack but the sandbox runs with the public sandbox passphrase of scripts/env-local.sh;
  - the update phase of a shared stack's `up` (not its preview) starts from a checkpoint exported just before
    (EAF_CHECKPOINT, set by `python -m infra up`).
The mock harness calls infra.program.main directly and so never meets it: mocks have no backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra.ops.checkpoints import CheckpointError, read_checkpoint, taken_at
from infra.ops.state_backend import resolve_backend
from infra.ops.state_policy import StackState, StatePolicy, StatePolicyError, load_policy
from infra.paths import PROJECT_DIR
from infra.spec.errors import Problem

CHECKPOINT_VARIABLE = "EAF_CHECKPOINT"
SHARED_BACKEND_FIX = ("export PULUMI_BACKEND_URL='postgres://eaf_state@<state db host>:5432/eaf_state"
                      "?sslmode=verify-full' and PGPASSWORD (your team's values; in GitLab CI the project variables "
                      "of the same names); README, \"Shared state backend\"")


def backend_problems(declared: StackState, env: Mapping[str, str], project_dir: Path,
                     policy: StatePolicy) -> list[Problem]:
    if not declared.needs_shared_backend:
        return []
    choice = resolve_backend(env, project_dir)
    if choice.scheme in policy.shared_backend_schemes:
        return []
    return [Problem(
        "PULUMI_BACKEND_URL", f"{choice.shown()} (from {choice.source})",
        f"stack {declared.stack} keeps its state in the team's shared, locked backend "
        f"({' or '.join(s + '://' for s in policy.shared_backend_schemes)}); on any other backend its state looks "
        "empty and the engine would plan a fresh build next to the running cluster",
        SHARED_BACKEND_FIX)]


def engine_passphrase(env: Mapping[str, str]) -> str | None:
    """The passphrase the engine would use, read the way it reads it (secrets/passphrase/manager.go)."""
    if "PULUMI_CONFIG_PASSPHRASE" in env:
        return env["PULUMI_CONFIG_PASSPHRASE"]
    if env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        try:
            return Path(env["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text(encoding="utf-8").strip()
        except OSError:
            return None  # the engine reports an unreadable file itself
    return None


def passphrase_problems(declared: StackState, env: Mapping[str, str], policy: StatePolicy) -> list[Problem]:
    if declared.secrets == "sandbox" or engine_passphrase(env) != policy.sandbox_passphrase:
        return []
    return [Problem(
        "PULUMI_CONFIG_PASSPHRASE", "(the public sandbox passphrase of scripts/env-local.sh)",
        f"it protects the local sandbox only; secrets of stack {declared.stack} under it would be readable by "
        "anyone with this repo",
        f"unset PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE and run python -m infra up --stack "
        f"{declared.stack}, which takes the passphrase from ${declared.passphrase_variable}")]


def checkpoint_problems(declared: StackState, env: Mapping[str, str], policy: StatePolicy,
                        now: datetime) -> list[Problem]:
    if not declared.needs_shared_backend:
        return []
    fix = (f"run the update as python -m infra up --stack {declared.stack} [pulumi up options]: it exports a "
           f"checkpoint first and keeps the last {policy.checkpoints.keep}")
    given = env.get(CHECKPOINT_VARIABLE)
    if not given:
        return [Problem(CHECKPOINT_VARIABLE, "(not set)", f"every update of stack {declared.stack} starts from a "
                        "checkpoint of its state exported just before (the way back if it goes wrong)", fix)]
    path = Path(given)
    try:
        read_checkpoint(path, declared.stack)
        age = now - taken_at(path)
    except (CheckpointError, ValueError) as error:
        return [Problem(CHECKPOINT_VARIABLE, given, f"not a checkpoint of stack {declared.stack}: {error}", fix)]
    if path.parent.name != declared.stack or age > timedelta(minutes=policy.checkpoints.max_age_minutes):
        return [Problem(CHECKPOINT_VARIABLE, given, f"a checkpoint of {path.parent.name} taken {age} ago; the update "
                        f"needs one of {declared.stack} from the last {policy.checkpoints.max_age_minutes} minutes",
                        fix)]
    return []


def check_engine_run(stack: str, env: Mapping[str, str], dry_run: bool, project_dir: Path = PROJECT_DIR,
                     policy: StatePolicy | None = None,
                     now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Problem]:
    policy = policy or load_policy()
    try:
        declared = policy.stack(stack)
    except StatePolicyError as error:
        return [Problem("infra/data/state.yaml: stacks", stack, str(error), f"add stacks.{stack} there")]
    if declared.state == "baseline":
        return []  # not deployable: the program refuses it with its own message
    problems = backend_problems(declared, env, project_dir, policy) + passphrase_problems(declared, env, policy)
    if not dry_run:
        problems += checkpoint_problems(declared, env, policy, now())
    return problems


def render(stack: str, problems: list[Problem]) -> str:
    lines = [f"stack '{stack}': {len(problems)} state/secrets problem(s); nothing was created or changed:"]
    return "\n".join(lines + [p.render() for p in problems])


def guard_engine_run() -> None:
    """For the program's entry point: raise (before any resource is registered) when check_engine_run objects."""
    import pulumi

    stack = pulumi.get_stack()
    problems = check_engine_run(stack, os.environ, pulumi.runtime.is_dry_run())
    if problems:
        raise pulumi.RunError(render(stack, problems))

"""Exported checkpoints of a stack's state (`pulumi stack export`), the last N kept, and restoring one.

Layout: <root>/<stack>/<stack>-<UTC time>.json, each file exactly what `pulumi stack export` wrote, so that
`pulumi stack import --file` takes it back as it is. Secret values stay encrypted with the stack's own key (never
--show-secrets), so a checkpoint is no more readable than the backend it came from. Written under a temporary name
and renamed, so a failed export never counts as one of the N.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Runs `pulumi ARGS...` in the project; the real one is PulumiCli below, tests pass their own.
PulumiRunner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]
TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"


class CheckpointError(RuntimeError):
    pass


def default_root(project_dir: Path, env: Mapping[str, str]) -> Path:
    """$EAF_CHECKPOINT_DIR (e.g. a CI job's artifact folder), else .work/checkpoints in the project."""
    return Path(env["EAF_CHECKPOINT_DIR"]) if env.get("EAF_CHECKPOINT_DIR") else project_dir / ".work" / "checkpoints"


@dataclass(frozen=True)
class PulumiCli:
    """`pulumi` from PATH (scripts/env.sh), in the project folder, with the given environment."""

    project_dir: Path
    env: dict[str, str]

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pulumi", *args, "--non-interactive"], cwd=self.project_dir, env=self.env,
                              capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class CheckpointStore:
    root: Path
    keep: int

    def stack_dir(self, stack: str) -> Path:
        return self.root / stack

    def list(self, stack: str) -> list[Path]:
        """The stack's checkpoints, oldest first."""
        return sorted(self.stack_dir(stack).glob(f"{stack}-*.json"))

    def new_path(self, stack: str, now: datetime) -> Path:
        return self.stack_dir(stack) / f"{stack}-{now.astimezone(UTC).strftime(TIME_FORMAT)}.json"

    def prune(self, stack: str) -> list[Path]:
        """Remove all but the newest `keep`; returns what was removed."""
        existing = self.list(stack)
        removed = existing[:-self.keep] if len(existing) > self.keep else []
        for path in removed:
            path.unlink()
        return removed


def taken_at(path: Path) -> datetime:
    stamp = path.stem.rsplit("-", 1)[-1]
    return datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)


def _fail(what: str, done: subprocess.CompletedProcess[str]) -> CheckpointError:
    return CheckpointError(f"{what} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-2000:]}")


def read_checkpoint(path: Path, stack: str) -> dict:
    """The export in `path`, refused unless it is a stack export whose resources all belong to `stack`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("deployment"), dict):
        raise CheckpointError(f"{path}: not a `pulumi stack export` file (no deployment)")
    stacks = {r["urn"].split(":")[2] for r in document["deployment"].get("resources") or ()
              if r.get("urn", "").startswith("urn:pulumi:")}
    if stacks - {stack}:
        raise CheckpointError(f"{path}: a checkpoint of stack(s) {', '.join(sorted(stacks))}, not {stack}")
    return document


def resource_count(document: dict) -> int:
    return len(document["deployment"].get("resources") or ())


def _utc_now() -> datetime:
    return datetime.now(UTC)


def export_checkpoint(store: CheckpointStore, stack: str, pulumi: PulumiRunner,
                      now: Callable[[], datetime] = _utc_now, prune: bool = True) -> Path:
    """`pulumi stack export` into a new checkpoint, then keep the newest N. Returns the new file."""
    target = store.new_path(stack, now())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    done = pulumi(["stack", "export", "--stack", stack, "--file", str(partial)])
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise _fail(f"pulumi stack export --stack {stack}", done)
    try:
        read_checkpoint(partial, stack)
    except CheckpointError:
        partial.unlink()
        raise
    partial.rename(target)
    if prune:
        store.prune(stack)
    return target


def restore_checkpoint(store: CheckpointStore, stack: str, checkpoint: Path, pulumi: PulumiRunner,
                       now: Callable[[], datetime] = _utc_now) -> Path:
    """Put `checkpoint` back as the stack's state (`pulumi stack import`). The state it replaces is exported
    first, so a restore can itself be undone; returns that checkpoint. Pruning waits until the import is done, so
    the file being restored is never the one pruned."""
    read_checkpoint(checkpoint, stack)
    before = export_checkpoint(store, stack, pulumi, now, prune=False)
    done = pulumi(["stack", "import", "--stack", stack, "--file", str(checkpoint)])
    if done.returncode != 0:
        raise _fail(f"pulumi stack import --stack {stack}", done)
    store.prune(stack)
    return before

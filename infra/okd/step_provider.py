"""The dynamic provider behind every OKD install step: runs `okd_step.py STEP` on the operator's machine.

A local command with create/update semantics, like pulumi-command's `local.Command` (whose plugin cannot be had
here), but ours: a change of `triggers` replaces the step (its `create` runs: a new install), a change of any other
input runs its `update`, delete runs nothing (a step never removes what it made). Preview never runs a step.

Pulumi pickles this class into the state by reference, so it keeps no state on `self` and its module path must not
move. The step's progress (stderr) is streamed to the engine's log line by line, with every secret value the
resource carries replaced by a marker; stdout is the step's result.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

PROJECT_DIR = Path(__file__).resolve().parents[2]
STEP_SCRIPT = "infra/okd/scripts/okd_step.py"
REDACTED = "[secret]"
KEEP = "keep"  # the update of a one-time step: nothing runs, its result stays
# What changing means: a trigger replaces (a new install), anything else updates.
_UPDATED_BY = ("create", "update", "environment", "stdin", "timeout_seconds", "redact")


class StepError(RuntimeError):
    """The step exited non-zero; the message carries its last lines of output (secrets replaced)."""


def redacted(text: str, secrets: list[str]) -> str:
    """`text` with every secret value (and each of its lines, for multi-line secrets) replaced."""
    pieces = sorted({p for s in secrets if s for p in (s, *s.splitlines()) if len(p.strip()) >= 4},
                    key=len, reverse=True)
    for piece in pieces:
        text = text.replace(piece, REDACTED)
    return text


def _stream(source: IO[str], secrets: list[str], tail: list[str]) -> None:
    for line in source:
        shown = redacted(line.rstrip("\n"), secrets)
        tail.append(shown)
        del tail[:-20]
        print(shown, file=sys.stderr, flush=True)


def run_step(step: str, props: dict[str, Any]) -> str:
    """Run one step of okd_step.py from the project dir; its stdout, or StepError."""
    secrets = list(props.get("redact") or [])
    environment = {**os.environ, **{k: str(v) for k, v in (props.get("environment") or {}).items()}}
    process = subprocess.Popen(  # noqa: S603 - a fixed interpreter and script, the step name from our own code
        [sys.executable, STEP_SCRIPT, step], cwd=PROJECT_DIR, env=environment, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail: list[str] = []
    streamer = threading.Thread(target=_stream, args=(process.stderr, secrets, tail), daemon=True)
    streamer.start()
    try:
        stdout, _ = process.communicate(props.get("stdin") or "", timeout=props.get("timeout_seconds"))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise StepError(f"okd step {step} did not finish within {props.get('timeout_seconds')} s") from None
    streamer.join()
    if process.returncode != 0:
        raise StepError(f"okd step {step} failed (exit {process.returncode}):\n" + "\n".join(tail))
    return stdout


def _step_id(props: dict[str, Any]) -> str:
    """Stable for the same step and triggers: a replaced step gets a new id."""
    identity = json.dumps({"create": props["create"], "triggers": props.get("triggers")}, sort_keys=True)
    return f"{props['create']}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


class StepProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(_step_id(props), {**props, "stdout": run_step(props["create"], props)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["triggers"] if olds.get("triggers") != news.get("triggers") else []
        changed = [key for key in _UPDATED_BY if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(replaces or changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if news["update"] == KEEP:  # a one-time step: what it reported when it ran stays its result
            return UpdateResult({**news, "stdout": olds.get("stdout")})
        return UpdateResult({**news, "stdout": run_step(news["update"], news)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A step never undoes what it made: removing the install's steps from the stack deletes no cluster."""

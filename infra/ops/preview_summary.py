"""Turn `pulumi preview --json` output into a short markdown summary for a merge request comment.

Per stack: counts of creates/updates/replaces/deletes; then, first and loudly, the replacements and deletions of
protected or stateful resources (a lost volume is lost data); then the engine's errors; then the rest grouped by
operation. The summary prints resource names, types and the *names* of changed properties, never a property value:
that keeps it short and means a secret cannot leak through it, whether or not the JSON marked it secret.

Format read (pulumi v3.274 `preview --json`): {"steps": [{"op", "urn", "oldState", "newState", "diffReasons",
"replaceReasons", "detailedDiff", ...}], "diagnostics": [{"urn", "message", "severity"}], "changeSummary": {op: n}}.
A replacement is one step with op "replace" (the engine's create-replacement/delete-replaced pair folded into one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COUNTED_OPS = ("create", "update", "replace", "delete")
# Steps the engine emits for a replacement besides (or instead of) a folded "replace" step.
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced"})
DESTRUCTIVE_OPS = frozenset({"replace", "delete"})
OP_TITLES = {"create": "Create", "update": "Update", "replace": "Replace", "delete": "Delete"}

# Pulumi's secret markers: the CLI masks secret values as "[secret]"; the engine's wire format wraps them in a
# mapping with this signature key (sdk/go/common/resource/sig.go).
SECRET_MASK = "[secret]"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Inputs the engine or SDK adds that say nothing about the resource itself (the pickled dynamic provider).
INTERNAL_KEYS = frozenset({"__provider", "__defaults", "__inputs"})

# Resource types whose replacement or deletion loses data.
STATEFUL_TYPES = (
    re.compile(r"^kubernetes:core/v1:(PersistentVolumeClaim|PersistentVolume)$"),
    re.compile(r"^kubernetes:apps/v1:StatefulSet$"),
    re.compile(r"^kubernetes:core/v1:Namespace$"),  # deleting a namespace deletes the claims in it
    re.compile(r"^libvirt:index/(volume|pool):"),
    re.compile(r"(?i)(volume|disk|database|statefulset|bucket|snapshot)"),
)
# Name parts that mean "holds data" for resources whose type says nothing (Python dynamic resources, components).
STATEFUL_NAME_PARTS = frozenset({
    "volume", "volumes", "disk", "disks", "data", "scratch", "pvc", "pv", "db", "database", "postgres",
    "postgresql", "mysql", "etcd", "home", "homes", "pool", "statefulset", "backup",
})
NAME_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Change:
    op: str
    urn: str
    type: str
    name: str
    protected: bool
    stateful_because: tuple[str, ...]  # why it counts as holding data; empty when it does not
    changed_keys: tuple[str, ...]
    replace_keys: tuple[str, ...]
    secret_keys: tuple[str, ...]  # changed keys whose value is secret (named, never shown)

    @property
    def destructive(self) -> bool:
        return self.op in DESTRUCTIVE_OPS and (self.protected or bool(self.stateful_because))


@dataclass
class StackPreview:
    stack: str
    changes: list[Change] = field(default_factory=list)
    engine_counts: dict[str, int] | None = None  # the JSON's changeSummary, when present
    errors: list[str] = field(default_factory=list)

    @property
    def step_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTED_OPS, 0)
        for change in self.changes:
            counts[change.op] += 1
        return counts

    @property
    def counts(self) -> dict[str, int]:
        """What the engine counted (what `pulumi preview` prints); the steps when the JSON has no changeSummary."""
        if self.engine_counts is None:
            return self.step_counts
        return {op: int(self.engine_counts.get(op, 0)) for op in COUNTED_OPS}

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def is_secret(value: Any) -> bool:
    if isinstance(value, str):
        return value == SECRET_MASK
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def _urn_parts(urn: str) -> tuple[str, str]:
    """(type, name) of a URN: urn:pulumi:stack::project::parent$type::name."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", urn
    return parts[2].split("$")[-1], "::".join(parts[3:])


def _stateful_because(resource_type: str, name: str) -> tuple[str, ...]:
    reasons = []
    if any(pattern.search(resource_type) for pattern in STATEFUL_TYPES):
        reasons.append(f"type {resource_type}")
    if resource_type.startswith("kubernetes:"):
        return tuple(reasons)  # Kubernetes kinds say exactly what they are; their names carry namespaces
    parts = sorted(set(NAME_SPLIT.split(name.lower())) & STATEFUL_NAME_PARTS)
    if parts:
        reasons.append("name: " + ", ".join(parts))
    return tuple(reasons)


def _inputs(state: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not state:
        return {}
    inputs = state.get("inputs")
    return inputs if isinstance(inputs, Mapping) else {}


def _changed_keys(step: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level property names that change: the provider's diffReasons/detailedDiff when it gave them, else the
    inputs compared (dynamic providers give neither). A secret on both sides compares equal: it may still change."""
    keys: set[str] = set(step.get("diffReasons") or ())
    keys |= {re.split(r"[.\[]", path, maxsplit=1)[0] for path in (step.get("detailedDiff") or {})}
    if not keys:
        old, new = _inputs(step.get("oldState")), _inputs(step.get("newState"))
        keys = {key for key in set(old) | set(new) if old.get(key) != new.get(key)} - INTERNAL_KEYS
        if not keys:
            # Nothing visible differs, yet the provider wants a change: the masked secrets are what changed.
            keys = {key for key in set(old) & set(new) if is_secret(old[key]) and is_secret(new[key])}
    return tuple(sorted(keys - INTERNAL_KEYS))


def _secret_keys(step: Mapping[str, Any], keys: Iterable[str]) -> tuple[str, ...]:
    old, new = _inputs(step.get("oldState")), _inputs(step.get("newState"))
    return tuple(key for key in keys if is_secret(old.get(key)) or is_secret(new.get(key)))


def _change(step: Mapping[str, Any]) -> Change:
    urn = str(step.get("urn", ""))
    old = step.get("oldState") or {}
    new = step.get("newState") or {}
    resource_type = str(old.get("type") or new.get("type") or _urn_parts(urn)[0])
    name = _urn_parts(urn)[1]
    op = "replace" if step.get("op") in REPLACE_OPS else str(step.get("op"))
    changed = _changed_keys(step) if op in ("update", "replace") else ()
    replace_keys = tuple(sorted(set(step.get("replaceReasons") or ()) - INTERNAL_KEYS))
    return Change(
        op=op, urn=urn, type=resource_type, name=name,
        protected=bool(old.get("protect") or new.get("protect")),
        stateful_because=_stateful_because(resource_type, name),
        changed_keys=changed, replace_keys=replace_keys, secret_keys=_secret_keys(step, changed),
    )


def parse_preview(stack: str, document: Mapping[str, Any]) -> StackPreview:
    """One stack's preview JSON (already decoded) -> its changes, the engine's counts and errors."""
    preview = StackPreview(stack)
    seen_replacements: set[str] = set()
    for step in document.get("steps") or ():
        op = step.get("op")
        if op in REPLACE_OPS:
            # One replacement may arrive as several steps (create-replacement, replace, delete-replaced).
            if step.get("urn") in seen_replacements:
                continue
            seen_replacements.add(step.get("urn"))
        elif op not in COUNTED_OPS:
            continue  # same, read, refresh: nothing changes
        preview.changes.append(_change(step))
    summary = document.get("changeSummary")
    if isinstance(summary, Mapping):
        preview.engine_counts = {str(op): int(n) for op, n in summary.items()}
    for diagnostic in document.get("diagnostics") or ():
        if diagnostic.get("severity") == "error":
            preview.errors.append(str(diagnostic.get("message", "")).strip())
    return preview


def load_preview(stack: str, path: Path) -> StackPreview:
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError(f"{path}: empty: `pulumi preview --json` printed nothing for stack {stack} "
                         "(it failed before planning; see the job log)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}): pass the stdout of `pulumi preview --json`") from error
    if not isinstance(document, Mapping):
        raise ValueError(f"{path}: expected a JSON object with 'steps', got {type(document).__name__}")
    return parse_preview(stack, document)


def _headline(preview: StackPreview) -> str:
    counts = preview.counts
    parts = [f"{counts[op]} to {op}" for op in COUNTED_OPS if counts[op]]
    what = ", ".join(parts) if parts else "no changes"
    status = " — **PREVIEW FAILED**" if preview.failed else ""
    return f"### Stack `{preview.stack}`: {what}{status}"


def _why(change: Change) -> str:
    reasons = []
    if change.protected:
        reasons.append("protected")
    reasons.extend(change.stateful_because)
    if change.replace_keys:
        reasons.append("replaced because of " + ", ".join(f"`{key}`" for key in change.replace_keys))
    return "; ".join(reasons)


def _line(change: Change) -> str:
    line = f"- `{change.name}` ({change.type})"
    if change.changed_keys and change.changed_keys != change.replace_keys:
        marked = [f"`{key}`" + (" (secret)" if key in change.secret_keys else "") for key in change.changed_keys]
        line += ": " + ", ".join(marked)
    if change.op == "replace" and change.replace_keys:
        line += " — replaced because of " + ", ".join(f"`{key}`" for key in change.replace_keys)
    return line


def render_stack(preview: StackPreview) -> str:
    lines = [_headline(preview), ""]
    destructive = [change for change in preview.changes if change.destructive]
    if destructive:
        lines.append(f"**:warning: DATA AT RISK — {len(destructive)} protected or stateful resource(s) replaced "
                     "or deleted:**")
        for change in destructive:
            lines.append(f"- **{change.op.upper()}** `{change.name}` ({change.type}) — {_why(change)}")
        lines.append("")
    if preview.failed:
        lines.append("**The engine refused this preview:**")
        lines.append("```")
        lines.extend(preview.errors)
        lines.append("```")
        lines.append("")
    if preview.engine_counts is not None and preview.step_counts != preview.counts:
        refused = {op: preview.step_counts[op] - preview.counts[op] for op in COUNTED_OPS
                   if preview.step_counts[op] != preview.counts[op]}
        detail = ", ".join(f"{n:+d} {op}" for op, n in refused.items())
        lines.append(f"_The planned steps differ from the engine's counts ({detail}): the engine stopped at a "
                     "refused step and did not count it._")
        lines.append("")
    rest = [change for change in preview.changes if not change.destructive]
    for op in COUNTED_OPS:
        group = [change for change in rest if change.op == op]
        if group:
            lines.append(f"<details><summary>{OP_TITLES[op]} ({len(group)})</summary>")
            lines.append("")
            lines.extend(_line(change) for change in sorted(group, key=lambda c: c.urn))
            lines.append("")
            lines.append("</details>")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render(previews: Sequence[StackPreview]) -> str:
    """The whole MR comment: stacks with data at risk or errors first, then the others, each in stack order."""
    ordered = sorted(previews, key=lambda p: (not (p.failed or any(c.destructive for c in p.changes)), p.stack))
    body = "\n".join(render_stack(preview) for preview in ordered)
    return "## Pulumi preview\n\n" + (body if previews else "No stack is touched by this merge request.\n")

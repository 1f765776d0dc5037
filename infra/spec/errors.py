"""Config errors that say which stack, which field, what was wrong and what would be right.

The message is for a person at a terminal or in an MR comment, whatever the input was: values are shown escaped (an
invisible or non-ASCII character is visible as `\\u200b`), long values and texts are cut with their size said, past
MAX_SHOWN problems the rest are summarised by kind, and no secret value is ever shown (infra/spec/secrecy.py).
ConfigError is a pulumi.RunError, so under the engine the message is printed as it is, without a traceback.
"""

from __future__ import annotations

import re
import reprlib
from collections import Counter
from dataclasses import dataclass, replace

import pulumi

from infra.spec import secrecy

MAX_SHOWN = 20  # problems shown in full; the rest are counted by kind
_PER_KIND = 3  # at most this many of one kind among those shown, so a flood of one kind hides no other kind
_MAX_KINDS = 20
_TEXT_CHARS = 400
_PATH_CHARS = 200
# Our own messages use these; every other non-ASCII character is escaped, so a homoglyph or an invisible character
# in a user's value can always be seen.
_TYPOGRAPHY = frozenset("…—–→≥≤×·’")

_values = reprlib.Repr()
_values.maxstring = 100
_values.maxother = 100
_values.maxlist = _values.maxtuple = _values.maxdict = _values.maxset = 6
_values.maxlevel = 3


def visible(text: str) -> str:
    """`text` with every character that is not printable ASCII (or our own typography) escaped."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for char in text:
        if (char.isascii() and char.isprintable()) or char in _TYPOGRAPHY:
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit - 30]}... ({len(text)} characters)"


def shown_value(value: object) -> str:
    """A value as a message shows it: escaped, at most ~120 characters, with its size when it was cut."""
    text = visible(_values.repr(value))
    if isinstance(value, str) and len(value) > _values.maxstring:
        text += f" ({len(value)} characters)"
    elif isinstance(value, list | tuple | dict | set) and len(value) > _values.maxlist:
        text += f" ({len(value)} items)"
    return _cut(text, 160)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's config."""

    path: str  # dotted field path as a user writes it in Pulumi.<stack>.yaml, e.g. "eaf:nodes.workers.count"
    value: object
    why: str
    fix: str

    def render(self) -> str:
        return (f"  - {_cut(visible(self.path), _PATH_CHARS)} = {shown_value(self.value)}\n"
                f"      why: {_cut(visible(self.why), _TEXT_CHARS)}\n"
                f"      fix: {_cut(visible(self.fix), _TEXT_CHARS)}")

    @property
    def kind(self) -> str:
        """Problems of one kind differ only in numbers (indexes, node numbers): `eaf:hosts[N].name`."""
        return re.sub(r"\d+", "N", self.path)


def redacted(problem: Problem) -> Problem:
    """The problem as it may be shown: no secret in its value or texts."""
    value = problem.value
    if secrecy.secret_path(problem.path) or secrecy.holds_secret(value):
        value = secrecy.SECRET_SHOWN if value is not None else None
    path, why, fix = secrecy.scrub(problem.path), secrecy.scrub(problem.why), secrecy.scrub(problem.fix)
    if (value, path, why, fix) == (problem.value, problem.path, problem.why, problem.fix):
        return problem
    return replace(problem, value=value, path=path, why=why, fix=fix)


def _shown_and_rest(problems: list[Problem]) -> tuple[list[Problem], Counter[str], dict[str, Problem]]:
    shown: list[Problem] = []
    per_kind: Counter[str] = Counter()
    rest: Counter[str] = Counter()
    first_of: dict[str, Problem] = {}
    for problem in problems:
        kind = problem.kind
        if len(shown) < MAX_SHOWN and per_kind[kind] < _PER_KIND:
            shown.append(problem)
            per_kind[kind] += 1
        else:
            rest[kind] += 1
            first_of.setdefault(kind, problem)
    return shown, rest, first_of


def render(stack: str, problems: list[Problem]) -> str:
    lines = [f"stack '{visible(stack)}': {len(problems)} config problem(s); nothing was created or changed:"]
    shown, rest, first_of = _shown_and_rest(problems)
    lines += [p.render() for p in shown]
    if rest:
        lines.append(f"  ... and {sum(rest.values())} more, summarised by kind:")
        for kind, count in rest.most_common(_MAX_KINDS):
            example = first_of[kind]
            lines.append(f"  - and {count} more of the same kind as {_cut(visible(kind), _PATH_CHARS)}, e.g. "
                         f"{_cut(visible(example.path), _PATH_CHARS)}: {_cut(visible(example.why), 160)}")
        others = len(rest) - _MAX_KINDS
        if others > 0:
            lines.append(f"  - and {sum(c for _, c in rest.most_common()[_MAX_KINDS:])} more of {others} other "
                         "kind(s)")
        lines.append("  fix the ones shown above first: the rest usually share their cause")
    return "\n".join(lines)


class ConfigError(pulumi.RunError):
    """Every problem of a stack's config at once, raised before any resource is registered."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.stack = stack
        self.problems = [redacted(p) for p in problems]
        super().__init__(render(stack, self.problems))

"""Config errors that say which stack, which field, what was wrong and what would be right."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's config."""

    path: str  # dotted field path as a user writes it in Pulumi.<stack>.yaml, e.g. "eaf:nodes.workers.count"
    value: object
    why: str
    fix: str

    def render(self) -> str:
        shown = repr(self.value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return f"  - {self.path} = {shown}\n      why: {self.why}\n      fix: {self.fix}"


class ConfigError(Exception):
    """Every problem of a stack's config at once, raised before any resource is registered."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.stack = stack
        self.problems = list(problems)
        lines = [f"stack '{stack}': {len(self.problems)} config problem(s); nothing was created or changed:"]
        lines += [p.render() for p in self.problems]
        super().__init__("\n".join(lines))

"""Policy over a planned change: a protected resource (prod root/data volumes) is never replaced or deleted.

It is about a diff, so it reads `pulumi preview --json` (steps with op and the old state's `protect`), not the
registered resources. The engine itself refuses to replace or delete a protected resource at `up`; checking the
preview says so at review time, in the merge request, with the resource named.

    python -m policy.preview prod-a=.work/preview/prod-a.json [...]    # exit 1 on a violation
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.ops.preview_summary import StackPreview, load_preview, parse_preview
from policy.records import Violation

NAME = "protected-never-replaced"


def check_changes(preview: StackPreview) -> list[Violation]:
    violations = []
    for change in preview.changes:
        if change.protected and change.op in ("replace", "delete"):
            because = f" (because of {', '.join(change.replace_keys)})" if change.replace_keys else ""
            violations.append(Violation(NAME, change.urn, (
                f"stack {preview.stack}: protected {change.type} {change.name} would be {change.op}d{because}; a "
                "protected volume holds data that a replacement loses: change the program so the resource is kept, "
                "or migrate the data first (docs/migration.md) and unprotect it deliberately")))
    return violations


def check_preview(stack: str, document: Mapping[str, Any]) -> list[Violation]:
    """The violations in one stack's decoded `pulumi preview --json`."""
    return check_changes(parse_preview(stack, document))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m policy.preview STACK=PREVIEW.json ...", file=sys.stderr)
        return 2
    violations = []
    for item in args:
        stack, _sep, path = item.partition("=")
        if not stack or not path:
            print(f"policy.preview: {item!r}: expected STACK=FILE", file=sys.stderr)
            return 2
        try:
            violations.extend(check_changes(load_preview(stack, Path(path))))
        except (OSError, ValueError) as error:
            print(f"policy.preview: {error}", file=sys.stderr)
            return 2
    for violation in violations:
        print(violation)
    print(f"policy.preview: {len(violations)} violation(s) in {len(args)} preview(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())

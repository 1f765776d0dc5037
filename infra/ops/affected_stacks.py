"""Which deployable stacks a change touches: the stacks the merge request pipeline previews.

- `Pulumi.<stack>.yaml` touches that stack; a baseline file (`eaf:layer: baseline`, e.g. `Pulumi.prod.yaml`)
  touches every stack that layers over it (`eaf:baseline: prod` -> prod-a, prod-b).
- The program and what it runs with touch every deployable stack: `infra/`, `ignition/`, `policy/` (the preview
  runs the policies), `__main__.py`, `Pulumi.yaml`, `requirements*`.
- Anything else (docs, tests, scripts, CI) touches no stack: the unit and lint jobs cover it.

Deployable: a stack file that is not a baseline and whose cluster role is not `local` (the local stack previews on
the machine that runs it, not in CI). The stack files themselves say which stacks exist, so a new stack needs no
change here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from infra.spec.layering import read_stack_file, stack_cluster

PROGRAM_DIRS = ("infra", "ignition", "policy")
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml")
PROGRAM_PREFIXES = ("requirements",)  # requirements.txt, requirements.lock, ...
UNDEPLOYED_ROLES = ("local",)


def _stack_of(path: PurePosixPath) -> str | None:
    """`Pulumi.prod-a.yaml` -> prod-a; None for anything that is not a top-level stack file."""
    if len(path.parts) != 1 or path.suffix != ".yaml" or not path.name.startswith("Pulumi."):
        return None
    stack = path.name[len("Pulumi."):-len(".yaml")]
    return stack or None


def stack_files(project_dir: Path) -> dict[str, dict]:
    """Every stack file's own `eaf:` config, by stack name."""
    found = {}
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        stack = _stack_of(PurePosixPath(path.name))
        if stack is not None:
            found[stack] = read_stack_file(project_dir, stack)
    return found


def deployable_stacks(project_dir: Path) -> tuple[str, ...]:
    return tuple(
        stack for stack, own in stack_files(project_dir).items()
        if own.get("layer") != "baseline" and stack_cluster(project_dir, stack).get("role") not in UNDEPLOYED_ROLES
    )


def _touches_program(path: PurePosixPath) -> bool:
    if len(path.parts) > 1 and path.parts[0] in PROGRAM_DIRS:
        return True
    return len(path.parts) == 1 and (path.name in PROGRAM_FILES or path.name.startswith(PROGRAM_PREFIXES))


def affected_stacks(changed_files: Iterable[str], project_dir: Path) -> tuple[str, ...]:
    """The deployable stacks `changed_files` (paths relative to the repo root) touch, in stack-file order."""
    files = stack_files(project_dir)
    deployable = deployable_stacks(project_dir)
    touched: set[str] = set()
    for name in changed_files:
        path = PurePosixPath(name.strip())
        if not name.strip():
            continue
        if _touches_program(path):
            return deployable
        stack = _stack_of(path)
        if stack is None:
            continue
        touched.add(stack)
        # A baseline's layers: every stack whose own file says `baseline: <this stack>`.
        touched.update(other for other, own in files.items() if own.get("baseline") == stack)
    return tuple(stack for stack in deployable if stack in touched)

"""The stacks a stack must be checked against: every stack file built on the same baseline.

prod-a and prod-b both say `eaf:baseline: prod`, and that is what makes them the production pair that may share
hypervisors. So the sibling set is found, not listed: every `Pulumi.<name>.yaml` of the project whose own
`eaf:baseline` names the same baseline. A third production cluster built on it (or a prod-c during a migration) is
checked against the others without anyone remembering to add it to a list; dev and local, which build on no
baseline, are not (their hosts are their own).

A sibling is read from its stack file, layered over the baseline and validated like any stack (secrets only known
to be set). A sibling that does not validate is reported as one problem: its hosts cannot be compared with.
"""

from __future__ import annotations

from pathlib import Path

from infra.spec.errors import ConfigError, Problem
from infra.spec.layering import StackFileError, read_stack_file, secure_keys, stack_file, stack_names

_loaded: dict[tuple[str, ...], object] = {}


def sibling_names(project_dir: Path, stack: str, baseline: str) -> tuple[list[str], list[Problem]]:
    names, problems = [], []
    for name in stack_names(project_dir):
        if name in (stack, baseline):
            continue
        try:
            own = read_stack_file(project_dir, name)
        except StackFileError as error:
            problems.append(Problem(error.problem.path, None, f"{error.problem.why}; so whether it shares "
                                    f"hypervisors with this stack cannot be checked", error.problem.fix))
            continue
        if own.get("baseline") == baseline:
            names.append(name)
    return names, problems


def _file_key(project_dir: Path, *stacks: str) -> tuple[str, ...]:
    key: list[str] = [str(project_dir)]
    for name in stacks:
        stat = stack_file(project_dir, name).stat()
        key += [name, str(stat.st_mtime_ns), str(stat.st_size)]
    return tuple(key)


def _load(project_dir: Path, name: str, baseline: str):
    """The sibling validated from its files (cached while neither file changes), or the ConfigError it raised."""
    from infra.spec.load import load_spec

    key = _file_key(project_dir, name, baseline)
    if key not in _loaded:
        try:
            own = read_stack_file(project_dir, name, keep_secure=True)
            _loaded[key] = load_spec(name, own, project_dir, check_secrets=False,
                                     secret_keys=secure_keys(project_dir, name), check_siblings=False)
        except ConfigError as error:
            _loaded[key] = error
    return _loaded[key]


def load_siblings(project_dir: Path, stack: str, baseline: str | None):
    """[(name, LoadedStack)] of the stacks on the same baseline, and problems for those that cannot be compared."""
    if baseline is None:
        return [], []
    names, problems = sibling_names(project_dir, stack, baseline)
    loaded = []
    for name in names:
        result = _load(project_dir, name, baseline)
        if isinstance(result, ConfigError):
            first = result.problems[0]
            problems.append(Problem(
                f"Pulumi.{name}.yaml", None,
                f"{name} (on the same baseline '{baseline}', so it may share hypervisors with this stack) does not "
                f"validate: {len(result.problems)} problem(s), the first: {first.path}: {first.why}",
                f"fix {name} first: python -m infra preflight --stack {name} lists its problems"))
        else:
            loaded.append((name, result))
    return loaded, problems

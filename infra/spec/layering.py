"""Stack config layering: the baseline stack file, then the stack's own config; later wins.

`Pulumi.prod-a.yaml` says `eaf:baseline: prod`; the program then reads `Pulumi.prod.yaml` itself and deep-merges the
stack's config over it. Mappings merge key by key; lists and scalars are replaced whole (a stack that sets
`eaf:hosts` gives the complete host list). The stack's own config comes from the engine, so `pulumi config set`
keeps working and always wins over the baseline.

Stack files are read the way the engine reads them (YAML 1.2 scalars, as Go's yaml.v3 does): an unquoted
`52:54:00:aa:bb:cc` or `0000:17:00.0` stays text (YAML 1.1 would make a base-60 number of it), `yes`/`no` stay text,
and a key given twice is refused instead of silently keeping the last one.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.spec.errors import ConfigError, Problem

NAMESPACE = "eaf"
SECURE_PLACEHOLDER = "<secure value: decrypted by the Pulumi engine only>"
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class _EngineYamlLoader(yaml.SafeLoader):
    """YAML 1.2 core schema scalars (what the engine's Go YAML reads), and no key twice in a mapping."""


_EngineYamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+.0123456789")),
):
    _EngineYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


class _RepeatedKey(yaml.MarkedYAMLError):
    pass


def _mapping(loader: _EngineYamlLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            repeated = key in seen
        except TypeError:  # an unhashable key (a list): the base constructor says so
            break
        if repeated:
            raise _RepeatedKey("while reading a mapping", node.start_mark,
                               f"the key {key!r} is given twice (the engine refuses that; keep one)",
                               key_node.start_mark)
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_EngineYamlLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load_yaml(text: str) -> Any:
    """A stack file's YAML as the engine reads it (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_EngineYamlLoader)  # noqa: S506 - a SafeLoader subclass


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in over.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


class StackFileError(ValueError):
    """A stack file that cannot be read: missing, not YAML, not a stack file's shape. `problem` says which and how."""

    def __init__(self, problem: Problem):
        super().__init__(f"{problem.path}: {problem.why}")
        self.problem = problem


_documents: dict[tuple[str, int, int], Any] = {}


def _document(path: Path) -> Any:
    """The parsed file, cached by its size and modification time (sibling checks read every stack file)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _documents:
        _documents[key] = load_yaml(path.read_text(encoding="utf-8"))
    return copy.deepcopy(_documents[key])


def stack_names(project_dir: Path) -> list[str]:
    """Every stack file's stack name (baselines included), sorted."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def read_stack_file(project_dir: Path, stack: str, keep_secure: bool = False) -> dict[str, Any]:
    """The `eaf:` keys of a stack file's `config:` block, without the namespace. Secure values are left out, or with
    `keep_secure` stand as SECURE_PLACEHOLDER (tools outside the engine only need to know they are set). Raises
    StackFileError (missing file, broken YAML, wrong shape)."""
    path = stack_file(project_dir, stack)
    where = path.name
    if not _STACK_NAME.match(stack):
        raise StackFileError(Problem(where, stack, "not a stack name (letters, digits, '.', '_', '-')",
                                     f"use one of: {', '.join(stack_names(project_dir))}"))
    if not path.is_file():
        known = stack_names(project_dir)
        close = difflib.get_close_matches(stack, known, n=1)
        raise StackFileError(Problem(where, stack, "no such stack file in the project",
                                     (f"did you mean {close[0]!r}? " if close else "") + f"stacks: {', '.join(known)}"))
    try:
        document = _document(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        reason = getattr(error, "problem", None) or "not valid YAML"
        raise StackFileError(Problem(where, None, f"not valid YAML{at}: {reason}",
                                     f"fix {where}{at} (yamllint {where} shows it too)")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(Problem(where, None, f"cannot be read: {error.__class__.__name__}",
                                     f"make {where} a readable UTF-8 text file")) from None
    document = document if document is not None else {}
    config = document.get("config") if isinstance(document, Mapping) else None
    if not isinstance(document, Mapping) or not isinstance(config, Mapping | None):
        raise StackFileError(Problem(where, None, "not a stack file: it needs a `config:` mapping of eaf:<key> "
                                     "settings", f"compare {where} with Pulumi.dev.yaml"))
    own = {}
    for key, value in (config or {}).items():
        if not isinstance(key, str) or not key.startswith(f"{NAMESPACE}:"):
            continue
        if isinstance(value, Mapping) and "secure" in value:
            if not keep_secure:
                continue
            value = SECURE_PLACEHOLDER
        own[key.split(":", 1)[1]] = value
    return own


def secure_keys(project_dir: Path, stack: str) -> set[str]:
    """The `eaf:` keys a stack file holds encrypted (`secure:`)."""
    return {k for k, v in read_stack_file(project_dir, stack, keep_secure=True).items() if v == SECURE_PLACEHOLDER}


def parse_engine_value(value: Any) -> Any:
    """The engine hands structured config over as JSON text; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@dataclass(frozen=True)
class Layers:
    """A stack's config: its own keys, its baseline's, and the two merged (what the program validates)."""

    own: dict[str, Any]
    merged: dict[str, Any]
    baseline: str | None = None
    base: dict[str, Any] = field(default_factory=dict)


def baseline_names(project_dir: Path) -> list[str]:
    """Stack files that say `eaf:layer: baseline`."""
    names = []
    for name in stack_names(project_dir):
        try:
            if read_stack_file(project_dir, name).get("layer") == "baseline":
                names.append(name)
        except StackFileError:
            continue
    return names


def _choices(project_dir: Path) -> str:
    baselines = baseline_names(project_dir)
    return f"one of: {', '.join(baselines)}" if baselines else "remove eaf:baseline (there is no baseline file)"


def _baseline(project_dir: Path, name: Any) -> tuple[dict[str, Any] | None, Problem | None]:
    """The baseline's own keys, or why it cannot be one. The other files are only read to say what would do."""
    if not isinstance(name, str) or not _STACK_NAME.match(name):
        return None, Problem("eaf:baseline", name, "must name a baseline stack file: `prod` for Pulumi.prod.yaml",
                             f"set eaf:baseline to {_choices(project_dir)}")
    if not stack_file(project_dir, name).is_file():
        close = difflib.get_close_matches(name, baseline_names(project_dir), n=1)
        return None, Problem("eaf:baseline", name, f"no file Pulumi.{name}.yaml in the project",
                             (f"did you mean {close[0]!r}? " if close else "") +
                             f"set eaf:baseline to {_choices(project_dir)}")
    try:
        base = read_stack_file(project_dir, name)
    except StackFileError as error:
        return None, error.problem
    if base.get("layer") != "baseline":
        return None, Problem("eaf:baseline", name, f"Pulumi.{name}.yaml is a stack of its own, not a baseline (it "
                             "does not say eaf:layer: baseline)", f"set eaf:baseline to {_choices(project_dir)}")
    if "baseline" in base:
        return None, Problem("eaf:baseline", name, f"Pulumi.{name}.yaml builds on a baseline itself; baselines do "
                             "not chain", f"remove eaf:baseline from Pulumi.{name}.yaml")
    return base, None


def layer(stack: str, project_dir: Path, own: Mapping[str, Any]) -> Layers:
    """The stack's effective config (baseline first). Raises ConfigError when the baseline cannot be used."""
    name = own.get("baseline")
    if name is None:
        return Layers(own=dict(own), merged=dict(own))
    base, problem = _baseline(project_dir, name)
    if problem is not None or base is None:
        raise ConfigError(stack, [problem] if problem else [])
    base.pop("layer", None)
    merged = deep_merge(base, {k: v for k, v in own.items() if k != "baseline"})
    return Layers(own=dict(own), merged=merged, baseline=name, base=base)


def layered(project_dir: Path, own: Mapping[str, Any], stack: str = "?") -> tuple[dict[str, Any], str | None]:
    """The stack's effective config (baseline first), and the baseline's name if it has one."""
    layers = layer(stack, project_dir, own)
    return layers.merged, layers.baseline


def stack_cluster(project_dir: Path, stack: str) -> dict[str, Any]:
    """`eaf:cluster` of a stack as its files say (layered over its baseline): name, baseDomain, role; {} when the
    files set none. For tools outside the engine (policies, migration, the MR job's stack list)."""
    config, _baseline = layered(project_dir, read_stack_file(project_dir, stack), stack)
    cluster = config.get("cluster")
    return dict(cluster) if isinstance(cluster, Mapping) else {}

"""Stack config layering: the baseline stack file, then the stack's own config; later wins.

`Pulumi.prod-a.yaml` says `eaf:baseline: prod`; the program then reads `Pulumi.prod.yaml` itself and deep-merges the
stack's config over it. Mappings merge key by key; lists and scalars are replaced whole (a stack that sets
`eaf:hosts` gives the complete host list). The stack's own config comes from the engine, so `pulumi config set`
keeps working and always wins over the baseline.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

NAMESPACE = "eaf"


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in over.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


SECURE_PLACEHOLDER = "<secure value: decrypted by the Pulumi engine only>"


def read_stack_file(project_dir: Path, stack: str, keep_secure: bool = False) -> dict[str, Any]:
    """The `eaf:` keys of a stack file's `config:` block, without the namespace. Secure values are left out, or with
    `keep_secure` stand as SECURE_PLACEHOLDER (tools outside the engine only need to know they are set)."""
    path = stack_file(project_dir, stack)
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    config = document.get("config") or {}
    own = {}
    for key, value in config.items():
        if not key.startswith(f"{NAMESPACE}:"):
            continue
        if isinstance(value, Mapping) and "secure" in value:
            if not keep_secure:
                continue
            value = SECURE_PLACEHOLDER
        own[key.split(":", 1)[1]] = value
    return own


def parse_engine_value(value: Any) -> Any:
    """The engine hands structured config over as JSON text; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def layered(project_dir: Path, own: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The stack's effective config (baseline first), and the baseline's name if it has one."""
    baseline = own.get("baseline")
    if baseline is None:
        return dict(own), None
    base = read_stack_file(project_dir, str(baseline))
    base.pop("layer", None)
    merged = deep_merge(base, {k: v for k, v in own.items() if k != "baseline"})
    return merged, str(baseline)


def stack_cluster(project_dir: Path, stack: str) -> dict[str, Any]:
    """`eaf:cluster` of a stack as its files say (layered over its baseline): name, baseDomain, role; {} when the
    files set none. For tools outside the engine (policies, migration, the MR job's stack list)."""
    config, _baseline = layered(project_dir, read_stack_file(project_dir, stack))
    cluster = config.get("cluster")
    return dict(cluster) if isinstance(cluster, Mapping) else {}

"""Policy: every JupyterHub profile has resource limits (CPU and memory; and a limit for every extra resource it
guarantees, e.g. a MIG slice), and no guarantee above its limit. A profile without limits lets one user's server
take a whole worker.

The apps layer (infra/apps/jupyterhub.py) hands KubeSpawner's profile list to the jupyterhub chart as
`singleuser.profileList` (the Chart component's values; the chart copies them into the hub's Secret as they are);
each entry's `kubespawner_override` carries cpu_limit/mem_limit/cpu_guarantee/mem_guarantee and
extra_resource_limits/extra_resource_guarantees. That list is what is checked: it is what the hub reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.records import ResourceRecord, StackInfo, Violation

NAME = "jupyterhub-profile-limits"
CHART = "kubernetes:helm.sh/v4:Chart"
# KubeSpawner's byte units: K, M, G, T are binary (M = MiB); plain numbers are bytes.
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$")


def hub_profiles(resources: Sequence[ResourceRecord]) -> Iterator[tuple[ResourceRecord, Mapping[str, Any]]]:
    """(Chart, profile entry) for every profile list a chart's values carry."""
    for record in resources:
        values = record.inputs.get("values") if record.type == CHART else None
        singleuser = values.get("singleuser") if isinstance(values, Mapping) else None
        entries = singleuser.get("profileList") if isinstance(singleuser, Mapping) else None
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping):
                yield record, entry


def _bytes(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    match = _BYTES.match(value) if isinstance(value, str) else None
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _problems(override: Mapping[str, Any]) -> list[str]:
    problems = []
    for kind, limit_key, guarantee_key, parse in (("CPU", "cpu_limit", "cpu_guarantee", _number),
                                                  ("memory", "mem_limit", "mem_guarantee", _bytes)):
        limit = parse(override.get(limit_key))
        if limit is None or limit <= 0:
            problems.append(f"no {kind} limit ({limit_key} is {override.get(limit_key)!r})")
            continue
        guarantee = parse(override.get(guarantee_key))
        if guarantee is not None and guarantee > limit:
            problems.append(f"{kind} guarantee {override.get(guarantee_key)!r} is above its limit "
                            f"{override.get(limit_key)!r}")
    limits = override.get("extra_resource_limits") or {}
    for resource in sorted(override.get("extra_resource_guarantees") or {}):
        if resource not in limits:
            problems.append(f"guarantees {resource} without a limit for it (extra_resource_limits)")
    return problems


def check(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    violations = []
    for record, profile in hub_profiles(resources):
        override = profile.get("kubespawner_override")
        problems = _problems(override if isinstance(override, Mapping) else {})
        if problems:
            violations.append(Violation(NAME, record.urn, (
                f"JupyterHub profile {profile.get('slug', '?')!r} in {record.type} {record.name}: "
                + "; ".join(problems) + "; set compute.cpu/memoryGiB request and limit in its catalog entry")))
    return violations

"""MIG layout checks against the GPU models' slice budgets (data in infra/data/mig-layouts.yaml)."""

from __future__ import annotations

from typing import Any


def layout_problems(layout_name: str, data: dict[str, Any]) -> list[str]:
    """Why a named layout is not valid, in words; empty when it is."""
    layouts = data["layouts"]
    if layout_name not in layouts:
        return [f"no MIG layout named {layout_name!r}; known layouts: {', '.join(sorted(layouts))}"]
    layout = layouts[layout_name]
    model = data["models"].get(layout["model"])
    if model is None:
        return [f"layout {layout_name!r} names GPU model {layout['model']!r}, which has no MIG data"]
    problems = []
    compute = memory = 0
    for profile, count in sorted(layout["perGpu"].items()):
        spec = model["profiles"].get(profile)
        if spec is None:
            problems.append(
                f"profile {profile} does not exist on {layout['model']} "
                f"(it has {', '.join(sorted(model['profiles']))})"
            )
            continue
        if count > spec["maxCount"]:
            problems.append(f"{count} x {profile} exceeds the {spec['maxCount']} a {layout['model']} can hold")
        compute += spec["compute"] * count
        memory += spec["memory"] * count
    if compute > model["computeSlices"]:
        problems.append(f"uses {compute} compute slices; a {layout['model']} has {model['computeSlices']}")
    if memory > model["memorySlices"]:
        problems.append(f"uses {memory} memory slices; a {layout['model']} has {model['memorySlices']}")
    return problems


def layout_model(layout_name: str, data: dict[str, Any]) -> str | None:
    layout = data["layouts"].get(layout_name)
    return None if layout is None else layout["model"]


def instances_per_gpu(layout_name: str, data: dict[str, Any]) -> dict[str, int]:
    return dict(sorted(data["layouts"][layout_name]["perGpu"].items()))

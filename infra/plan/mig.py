"""MIG layout checks against the GPU models' slice budgets (data in infra/data/mig-layouts.yaml)."""

from __future__ import annotations

from infra.catalog import MigCatalogue


def layout_problems(layout_name: str, catalogue: MigCatalogue) -> list[str]:
    """Why a named layout is not valid, in words; empty when it is."""
    layout = catalogue.layouts.get(layout_name)
    if layout is None:
        return [f"no MIG layout named {layout_name!r}; known layouts: {', '.join(sorted(catalogue.layouts))}"]
    model = catalogue.models.get(layout.model)
    if model is None:
        return [f"layout {layout_name!r} names GPU model {layout.model!r}, which has no MIG data"]
    problems = []
    compute = memory = 0
    for profile, count in sorted(layout.per_gpu.items()):
        spec = model.profiles.get(profile)
        if spec is None:
            problems.append(f"profile {profile} does not exist on {layout.model} "
                            f"(it has {', '.join(sorted(model.profiles))})")
            continue
        if count > spec.max_count:
            problems.append(f"{count} x {profile} exceeds the {spec.max_count} a {layout.model} can hold")
        compute += spec.compute * count
        memory += spec.memory * count
    if compute > model.compute_slices:
        problems.append(f"uses {compute} compute slices; a {layout.model} has {model.compute_slices}")
    if memory > model.memory_slices:
        problems.append(f"uses {memory} memory slices; a {layout.model} has {model.memory_slices}")
    return problems


def layout_model(layout_name: str, catalogue: MigCatalogue) -> str | None:
    layout = catalogue.layouts.get(layout_name)
    return None if layout is None else layout.model


def instances_per_gpu(layout_name: str, catalogue: MigCatalogue) -> dict[str, int]:
    return dict(sorted(catalogue.layouts[layout_name].per_gpu.items()))

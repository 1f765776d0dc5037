"""MIG layouts checked against NVIDIA's placement rules for the GPU model (data in infra/data/mig-layouts.yaml)."""

from __future__ import annotations

from infra.catalog import GpuModelMig, MigCatalogue, MigLayout


def _placeable(cut: dict[str, int], model: GpuModelMig) -> bool:
    """Whether the instances can take non-overlapping memory-slice placements (largest first, backtracking)."""
    instances = sorted((p for p, n in cut.items() for _ in range(n)), key=lambda p: -model.profiles[p].memory)

    def place(index: int, taken: frozenset[int]) -> bool:
        if index == len(instances):
            return True
        spec = model.profiles[instances[index]]
        for start in spec.placements:
            slices = frozenset(range(start, start + spec.memory))
            if not slices & taken and place(index + 1, taken | slices):
                return True
        return False

    return place(0, frozenset())


def cut_problems(cut: dict[str, int], model_name: str, model: GpuModelMig) -> list[str]:
    """Why one GPU's cut is not valid on the model, in words; empty when it is."""
    problems = []
    for profile, count in sorted(cut.items()):
        spec = model.profiles.get(profile)
        if spec is None:
            problems.append(f"profile {profile} does not exist on {model_name} "
                            f"(it has {', '.join(sorted(model.profiles))})")
        elif count > spec.max_count:
            problems.append(f"{count} x {profile} exceeds the {spec.max_count} a {model_name} can hold")
    if problems:
        return problems
    compute = sum(model.profiles[p].compute * n for p, n in cut.items())
    memory = sum(model.profiles[p].memory * n for p, n in cut.items())
    if compute > model.compute_slices:
        problems.append(f"uses {compute} compute slices; a {model_name} has {model.compute_slices}")
    if memory > model.memory_slices:
        problems.append(f"uses {memory} memory slices; a {model_name} has {model.memory_slices}")
    if not problems and not _placeable(cut, model):
        shown = " + ".join(f"{n} x {p}" for p, n in sorted(cut.items()))
        problems.append(f"{shown} fits the slice budgets but not NVIDIA's placement rules: no non-overlapping "
                        f"placement of the instances on a {model_name} exists")
    return problems


def layout_problems(layout_name: str, catalogue: MigCatalogue, gpus: int | None = None) -> list[str]:
    """Why a named layout is not valid (for a node with `gpus` GPUs, when given), in words; empty when it is."""
    layout = catalogue.layouts.get(layout_name)
    if layout is None:
        return [f"no MIG layout named {layout_name!r}; known layouts: {', '.join(sorted(catalogue.layouts))}"]
    model = catalogue.models.get(layout.model)
    if model is None:
        return [f"layout {layout_name!r} names GPU model {layout.model!r}, which has no MIG data"]
    if (layout.per_gpu is None) == (layout.gpus is None):
        return [f"layout {layout_name!r} needs exactly one of perGpu (every GPU alike) or gpus (one cut per GPU)"]
    problems = []
    for index, cut in enumerate(layout.cuts()):
        where = "" if layout.per_gpu is not None else f"GPU {index}: "
        problems += [where + reason for reason in cut_problems(cut, layout.model, model)]
    if gpus is not None and layout.gpus is not None and len(layout.gpus) != gpus:
        problems.append(f"layout {layout_name!r} cuts {len(layout.gpus)} GPU(s), the node has {gpus}")
    return problems


def layout_model(layout_name: str, catalogue: MigCatalogue) -> str | None:
    layout = catalogue.layouts.get(layout_name)
    return None if layout is None else layout.model


def instances_per_gpu(layout: MigLayout, gpu_index: int) -> dict[str, int]:
    return dict(sorted(layout.cut_of(gpu_index).items()))


def node_instances(layout_name: str, catalogue: MigCatalogue, gpus: int) -> dict[str, int]:
    """MIG profile -> how many instances a node with `gpus` GPUs cut by the layout offers."""
    layout = catalogue.layouts[layout_name]
    offered: dict[str, int] = {}
    for index in range(gpus):
        for profile, count in layout.cut_of(index).items():
            offered[profile] = offered.get(profile, 0) + count
    return dict(sorted(offered.items()))

"""MIG cuts are checked against NVIDIA's placement rules, per GPU, not only against the slice budgets."""

from __future__ import annotations

import pytest

from infra.catalog import GpuModelMig, MigProfileSpec, mig_catalogue
from infra.plan.mig import cut_problems, layout_problems

A100 = mig_catalogue().models["A100-80GB"]


@pytest.mark.parametrize("layout", sorted(mig_catalogue().layouts))
def test_every_shipped_layout_is_placeable(layout):
    assert layout_problems(layout, mig_catalogue()) == []


def test_the_facilitys_cut_places_40_20_10_and_10_gb_on_one_a100():
    assert cut_problems({"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}, "A100-80GB", A100) == []


def test_a_cut_over_the_compute_budget_names_both_budgets():
    assert cut_problems({"3g.40gb": 2, "2g.20gb": 1}, "A100-80GB", A100) == [
        "uses 8 compute slices; a A100-80GB has 7", "uses 10 memory slices; a A100-80GB has 8"]


def test_a_cut_within_the_budgets_that_no_placement_allows_is_refused():
    # A model whose 2-slice profile may only start at slice 0: two of them fit the budgets but overlap.
    model = GpuModelMig(compute_slices=7, memory_slices=8, memory_gib=80, profiles={
        "2g.20gb": MigProfileSpec(compute=2, memory=2, max_count=3, placements=(0,))})
    (reason,) = cut_problems({"2g.20gb": 2}, "test-gpu", model)
    assert "fits the slice budgets but not NVIDIA's placement rules" in reason


def test_a_per_gpu_layout_for_another_number_of_gpus_is_refused():
    assert layout_problems("eaf-dev-4gpu", mig_catalogue(), gpus=3) == [
        "layout 'eaf-dev-4gpu' cuts 4 GPU(s), the node has 3"]


def test_a_node_pinned_to_a_layout_for_another_gpu_count_is_refused_before_anything_exists():
    from infra.spec.errors import ConfigError
    from tests.harness import run_stack

    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"nodes": {"gpuWorkers": {"nodes": {"gpu-1": {"migLayout": "eaf-dev-4gpu"}}}}})
    assert "eaf:nodes.gpuWorkers.nodes.gpu-1.migLayout" in str(caught.value)
    assert "cuts 4 GPU(s), the node has 3" in str(caught.value)

"""MIG layouts: every named layout in infra/data/mig-layouts.yaml fits its GPU model; bad ones say why."""

from __future__ import annotations

import pytest

from infra.catalog import MigLayout, mig_catalogue
from infra.plan.mig import layout_problems

LAYOUTS = sorted(mig_catalogue().layouts)


@pytest.mark.parametrize("name", LAYOUTS)
def test_shipped_layout_fits_its_gpu_model(name):
    assert layout_problems(name, mig_catalogue()) == []


def test_seed_layout_gives_10_20_and_40_gb_slices():
    assert set(mig_catalogue().layouts["eaf-mixed"].per_gpu) == {"1g.10gb", "2g.20gb", "3g.40gb"}


def _with_layout(per_gpu, model="A100-80GB"):
    catalogue = mig_catalogue()
    layouts = {**catalogue.layouts, "candidate": MigLayout(model=model, per_gpu=per_gpu)}
    return catalogue.model_copy(update={"layouts": layouts})


def test_layout_over_the_compute_budget_is_refused():
    assert layout_problems("candidate", _with_layout({"3g.40gb": 2, "2g.20gb": 1})) == [
        "uses 8 compute slices; a A100-80GB has 7", "uses 10 memory slices; a A100-80GB has 8"]


def test_profile_of_another_gpu_model_is_refused():
    (reason,) = layout_problems("candidate", _with_layout({"1g.5gb": 1}))
    assert reason.startswith("profile 1g.5gb does not exist on A100-80GB")


def test_more_instances_than_a_gpu_holds_are_refused():
    reasons = layout_problems("candidate", _with_layout({"4g.40gb": 2}))
    assert "2 x 4g.40gb exceeds the 1 a A100-80GB can hold" in reasons

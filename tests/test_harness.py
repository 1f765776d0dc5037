"""The mock harness itself: what every layer's tests rely on."""

from __future__ import annotations

from tests.harness import run_stack


def test_each_run_starts_from_an_empty_stack():
    first = run_stack("prod-a")
    second = run_stack("local")
    assert "siteNetworkRecords" in first.outputs
    assert "siteNetworkRecords" not in second.outputs, "outputs of the previous run leaked into this one"
    assert not {r.urn for r in second.resources} & {r.urn for r in first.resources}


def test_registrations_carry_parent_and_dependencies(stack_runs):
    run = stack_runs("dev")
    urns = {r.urn for r in run.resources}
    children = [r for r in run.resources if r.parent in urns]
    assert children, "components must parent their children"
    assert all(r.parent in urns or r.parent.endswith("::pulumi:pulumi:Stack::eaf-dev") for r in run.resources)
    assert any(r.dependencies for r in run.resources), "some resource must depend on another"


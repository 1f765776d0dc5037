"""Scaling a node group or dropping the bootstrap node touches that node's resources only: every other resource
keeps its URN (so Pulumi never replaces it by rename) and, for libvirt objects, its inputs."""

from __future__ import annotations

from functools import cache

import pytest

from tests.libvirt_provider.support import (
    LIBVIRT_TYPES,
    NODE,
    PROVIDER_TYPE,
    StackRun,
    cached_provider_run,
    provider_run,
)

# Resources of these types make up the machines; a change of their inputs would update or replace a VM.
MACHINE_TYPES = (*LIBVIRT_TYPES, PROVIDER_TYPE, NODE, "eaf:libvirt:HypervisorHost")


# Each changed stack is run once and read by every test of that change (the runs are never modified).
@cache
def _without_worker_2(stack: str) -> StackRun:
    return provider_run(stack, {"nodes": {"workers": {"count": 2}}})


@cache
def _without_bootstrap(stack: str) -> StackRun:
    return provider_run(stack, {"nodes": {"bootstrap": {"enabled": False}}})


def _node_urns(run: StackRun, node: str) -> set[str]:
    component = next(r for r in run.of_type(NODE) if r.name == node)
    return {component.urn} | {r.urn for r in run.children_of(component.urn)}


def _changed_machine_inputs(before: StackRun, after: StackRun) -> dict[str, list[str]]:
    old = {r.urn: r for r in before.resources if r.type in MACHINE_TYPES}
    new = {r.urn: r for r in after.resources if r.type in MACHINE_TYPES}
    changed = {}
    for urn in old.keys() & new.keys():
        keys = sorted(k for k in old[urn].inputs.keys() | new[urn].inputs.keys()
                      if old[urn].inputs.get(k) != new[urn].inputs.get(k))
        if keys:
            changed[urn.rsplit("::", 1)[1]] = keys
    return changed


def test_adding_a_worker_adds_only_that_workers_resources():
    before = cached_provider_run("local")
    after = provider_run("local", {"nodes": {"workers": {"count": 3}}})
    added = {r.urn for r in after.resources} - {r.urn for r in before.resources}
    removed = {r.urn for r in before.resources} - {r.urn for r in after.resources}
    assert removed == set(), f"local: adding worker-2 removed {sorted(removed)}"
    assert added == _node_urns(after, "worker-2"), f"local: adding worker-2 added {sorted(added)}"
    assert len(added) == 4, f"local: worker-2 should be a node, its root volume, Ignition and domain: {added}"


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_removing_a_worker_removes_only_that_workers_resources(stack):
    before, after = cached_provider_run(stack), _without_worker_2(stack)
    added = {r.urn for r in after.resources} - {r.urn for r in before.resources}
    removed = {r.urn for r in before.resources} - {r.urn for r in after.resources}
    assert added == set(), f"{stack}: removing worker-2 added {sorted(added)}"
    assert removed == _node_urns(before, "worker-2"), f"{stack}: removing worker-2 removed {sorted(removed)}"


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_removing_a_worker_changes_no_other_machine(stack):
    """Not even the load balancer's Ignition: it finds the ingress nodes through DNS (plan.ingress_name), so no
    other VM, volume, network or provider changes, and no VM moves to another host."""
    changed = _changed_machine_inputs(cached_provider_run(stack), _without_worker_2(stack))
    assert changed == {}, f"{stack}: removing worker-2 also changed {changed}"


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b", "local"])
def test_disabling_the_bootstrap_node_removes_its_domain_volumes_and_ignition_and_nothing_else(stack):
    before, after = cached_provider_run(stack), _without_bootstrap(stack)
    old, new = {r.urn for r in before.resources}, {r.urn for r in after.resources}
    bootstrap = _node_urns(before, "bootstrap")
    kinds = sorted(before.by_urn(u).type.rsplit(":", 1)[-1] for u in bootstrap)
    assert kinds == ["ClusterNode", "Domain", "Ignition", "Volume"], f"{stack}: bootstrap resources {kinds}"
    assert old - new == bootstrap, f"{stack}: disabling bootstrap removed {sorted(old - new)}"
    assert new - old == set(), f"{stack}: disabling bootstrap added {sorted(new - old)}"
    assert _changed_machine_inputs(before, after) == {}, f"{stack}: disabling bootstrap changed other machines"
    protected = [u for u in bootstrap if before.by_urn(u).protect]
    assert protected == [], f"{stack}: Pulumi would refuse to delete the protected {protected}"


def test_the_placement_export_drops_the_bootstrap_row_when_it_is_disabled():
    after = _without_bootstrap("dev")
    rows = [line.split()[0] for line in after.outputs["placement"].splitlines()[1:]]
    assert "bootstrap" not in rows and {"lb-0", "lb-1"} <= set(rows), after.outputs["placement"]

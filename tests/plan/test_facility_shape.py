"""dev is the cluster the facility describes ("OKD Dev"), row by row; worker pools plan like the old groups."""

from __future__ import annotations

import pytest

from infra.apps.gpu_operator import offered_mig_slices
from infra.catalog import mig_catalogue
from infra.plan.model import Role
from tests.harness import run_stack
from tests.ignition.support import loaded_stack


def _shapes(stack: str, **match):
    plan = loaded_stack(stack).plan
    return [(n.vcpu, n.memory_mib / 1024) for n in plan.nodes
            if all(getattr(n, k) == v for k, v in match.items())]


def test_dev_has_three_controllers_of_4_cores_and_16_gb():
    assert _shapes("dev", role=Role.CONTROLLER) == [(4, 16)] * 3


def test_dev_has_three_workers_of_22_cores_and_88_gb():
    assert _shapes("dev", pool="worker") == [(22, 88)] * 3


def test_dev_has_two_a100_servers_of_62_cores_and_480_gb():
    assert _shapes("dev", role=Role.GPU_WORKER) == [(62, 480)] * 2
    gpus = [g.model for n in loaded_stack("dev").plan.by_role(Role.GPU_WORKER) for g in n.gpus]
    assert gpus == ["A100-80GB"] * 7, gpus


def test_dev_has_four_old_gpu_nodes_used_as_plain_workers_of_15_cores_and_100_gb():
    plan = loaded_stack("dev").plan
    old = [n for n in plan.nodes if n.pool == "old-gpu"]
    assert [(n.role, n.vcpu, n.memory_mib / 1024, n.gpus) for n in old] == [(Role.WORKER, 15, 100, ())] * 4
    assert sorted(n.host for n in old) == ["eafgpu-old01", "eafgpu-old02", "eafgpu-old03", "eafgpu-old04"]


def test_dev_gpus_give_30_mig_partitions_of_10_20_and_40_gb_560_gb_in_all():
    offered = offered_mig_slices(loaded_stack("dev").plan)
    assert sum(offered.values()) == 30, offered
    model = mig_catalogue().models["A100-80GB"]
    assert {model.slice_gib(p) for p in offered} == {10, 20, 40}, offered
    assert sum(model.slice_gib(p) * n for p, n in offered.items()) == 560, offered


def test_every_old_gpu_worker_gets_its_pools_label(stack_runs):
    run = stack_runs("dev")
    patches = {r.inputs["metadata"]["name"]: r.inputs for r in run.of_type("kubernetes:core/v1:NodePatch")
               if "eaf.fnal.gov/node-class" in r.inputs["metadata"].get("labels", {})}
    assert sorted(patches) == [f"old-gpu-{i}" for i in range(4)], sorted(patches)


def _machines(run) -> dict[str, dict]:
    return {r.urn: r.inputs for r in run.resources if r.type.startswith(("pulumi-python:dynamic", "eaf:libvirt"))}


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_moving_workers_and_gpu_workers_under_pools_changes_no_machine(stack_runs, stack):
    loaded = loaded_stack(stack)
    nodes = loaded.spec.nodes
    workers = nodes.workers.model_dump(by_alias=True, exclude_defaults=True)
    gpu = nodes.gpu_workers.model_dump(by_alias=True, exclude_defaults=True)
    offsets = loaded.spec.network.offsets
    moved = {"nodes": {
        "workers": None, "gpuWorkers": None,
        "pools": {**{k: v.model_dump(by_alias=True, exclude_defaults=True) for k, v in nodes.pools.items()},
                  "worker": {**workers, "offset": offsets.workers},
                  "gpu": {**gpu, "role": "gpu-worker", "offset": offsets.gpu_workers, "firmware": "uefi"}}}}
    assert _machines(run_stack(stack, overrides=moved)) == _machines(stack_runs(stack))


def test_a_pool_named_like_the_workers_group_is_refused_naming_the_pool():
    from infra.spec.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        run_stack("prod-a", overrides={"nodes": {"pools": {"worker": {"count": 1, "vcpu": 4, "memoryGiB": 16,
                                                                      "diskGiB": 100, "offset": 150}}}})
    assert "eaf:nodes.pools.worker" in str(caught.value) and "rename the pool" in str(caught.value)


def test_a_pool_is_placed_only_on_its_hosts():
    plan = loaded_stack("dev").plan
    assert {n.host for n in plan.nodes if n.pool == "old-gpu"} <= {f"eafgpu-old0{i}" for i in range(1, 5)}
    assert not [n.name for n in plan.nodes if n.pool != "old-gpu" and n.host.startswith("eafgpu-old")]

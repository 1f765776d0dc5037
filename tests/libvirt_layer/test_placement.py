"""Placement of VMs on hypervisor hosts (infra/plan/placement.py), for every stack and for configs made to break
the rules: spread, capacity, GPUs, determinism, stability, and the plan table in the exports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from infra.paths import PROJECT_DIR
from infra.plan.model import ClusterPlan, Role
from infra.spec.errors import ConfigError
from infra.spec.layering import deep_merge, read_stack_file
from infra.spec.load import load_spec
from tests.harness import STACKS

MULTI_HOST = ("dev", "prod-a", "prod-b")


def plan_of(stack: str, overrides: Mapping[str, Any] | None = None, unpin_gpus: bool = False) -> ClusterPlan:
    own = read_stack_file(PROJECT_DIR, stack)
    if unpin_gpus:  # overrides merge mappings key by key, so pins can only be dropped here
        own["nodes"]["gpuWorkers"].pop("nodes", None)
        # dev's MIG layouts are per pinned node; unpinned nodes share the facility's per-GPU one.
        own["nodes"]["gpuWorkers"].setdefault("migLayout", "eaf-mixed")
    own = deep_merge(own, dict(overrides or {}))
    return load_spec(stack, own, PROJECT_DIR, check_secrets=False).plan


def refusal(stack: str, overrides: Mapping[str, Any], unpin_gpus: bool = False) -> str:
    with pytest.raises(ConfigError) as error:
        plan_of(stack, overrides, unpin_gpus)
    return str(error.value)


# Several hosts need a bridge network (a nat network lives inside one hypervisor).
BRIDGE = {"mode": "bridge", "bridge": "br-okd", "dnsServers": ["10.0.0.53"]}


def _host(name: str, cpus: int = 64, memory_gib: int = 512, disk_gib: int = 3000, gpus=()) -> dict[str, Any]:
    return {"name": name, "uri": f"qemu+ssh://root@{name}.example.org/system", "cpus": cpus, "memoryGiB": memory_gib,
            "pool": {"name": "eaf", "path": "/var/lib/libvirt/eaf", "capacityGiB": disk_gib}, "gpus": list(gpus)}


@pytest.mark.parametrize("stack", MULTI_HOST)
def test_controllers_never_share_a_host_when_there_are_three_or_more(stack):
    plan = plan_of(stack)
    assert len(plan.hosts) >= 3, f"{stack} has {len(plan.hosts)} hosts"
    hosts = Counter(n.host for n in plan.by_role(Role.CONTROLLER))
    assert len(plan.by_role(Role.CONTROLLER)) == 3 and max(hosts.values()) == 1, f"{stack}: controllers on {hosts}"


def test_controllers_may_share_when_fewer_than_three_hosts_exist():
    plan = plan_of("local", {"hosts": [_host("hv-a"), _host("hv-b")], "network": BRIDGE})
    hosts = Counter(n.host for n in plan.by_role(Role.CONTROLLER))
    assert sorted(hosts.values()) == [1, 2], f"local on 2 hosts: controllers on {hosts}"


def test_controllers_are_refused_when_only_two_of_three_hosts_have_room_for_one():
    message = refusal("local", {
        "hosts": [_host("hv-a"), _host("hv-b"), _host("hv-small", cpus=2)], "network": BRIDGE,
        "nodes": {"controllers": {"vcpu": 4}},
    })
    assert "ctrl-2" in message and "controllers go on different hosts" in message, message


@pytest.mark.parametrize("stack", STACKS)
def test_no_host_is_given_more_cpu_memory_or_disk_than_it_has(stack):
    plan = plan_of(stack)
    for host in plan.hosts:
        nodes = plan.on_host(host.name)
        vcpu = sum(n.vcpu for n in nodes)
        memory_mib = sum(n.memory_mib for n in nodes)
        disk_gib = sum(n.disk_gib + sum(d.size_gib for d in n.data_disks) for n in nodes)
        assert vcpu <= host.cpus, f"{stack} {host.name}: {vcpu} vCPU > {host.cpus}"
        assert memory_mib <= host.memory_gib * 1024, f"{stack} {host.name}: {memory_mib} MiB > {host.memory_gib} GiB"
        assert disk_gib <= host.pool_capacity_gib, f"{stack} {host.name}: {disk_gib} GiB > {host.pool_capacity_gib}"


def test_a_group_that_does_not_fit_is_refused_naming_the_node_and_the_free_room():
    message = refusal("dev", {"nodes": {"workers": {"count": 4}}})
    assert "worker-3 (22 vCPU, 88 GiB RAM, 300 GiB disk)" in message, message
    assert "okd-dev-hv01:" in message and "add a host to eaf:hosts" in message, message


@pytest.mark.parametrize("stack", MULTI_HOST)
def test_gpu_workers_get_gpus_their_own_host_has(stack):
    from infra.spec.load import load_spec as load

    own = read_stack_file(PROJECT_DIR, stack)
    spec = load(stack, own, PROJECT_DIR, check_secrets=False).spec
    devices = {(h.name, g.address) for h in spec.hosts for g in h.gpus}
    plan = plan_of(stack)
    gpu_nodes = plan.by_role(Role.GPU_WORKER)
    assert gpu_nodes, f"{stack}: no GPU worker"
    for node in gpu_nodes:
        assert node.gpus, f"{stack} {node.name}: no GPU"
        for gpu in node.gpus:
            assert (node.host, gpu.address) in devices and gpu.host == node.host, f"{stack} {node.name}: {gpu}"


@pytest.mark.parametrize("stack", STACKS)
def test_no_two_vms_share_a_pci_device(stack):
    plan = plan_of(stack)
    owners = Counter((g.host, g.address) for n in plan.nodes for g in n.gpus)
    shared = {device: count for device, count in owners.items() if count > 1}
    assert shared == {}, f"{stack}: PCI devices given to more than one VM: {shared}"


def test_the_same_gpu_pinned_to_two_nodes_is_refused():
    message = refusal("dev", {"nodes": {"gpuWorkers": {"nodes": {
        "gpu-1": {"host": "eafgpu01", "gpus": ["0000:17:00.0"]},
    }}}})
    assert "GPU 0000:17:00.0 on host eafgpu01 is already given to gpu-0" in message, message


def test_gpu_workers_beyond_the_free_gpus_are_refused():
    message = refusal("prod-a", {"nodes": {"gpuWorkers": {"count": 2}}})
    assert "gpu-1" in message and "4 free GPU(s)" in message, message


def test_unpinned_gpu_workers_take_distinct_free_gpus():
    plan = plan_of("dev", {"nodes": {"gpuWorkers": {"gpusPerNode": 2, "count": 3, "vcpu": 20, "memoryGiB": 168}}},
                   unpin_gpus=True)
    taken = [(g.host, g.address) for n in plan.by_role(Role.GPU_WORKER) for g in n.gpus]
    assert len(taken) == 6 and len(set(taken)) == 6, f"dev with 3 unpinned GPU workers: {taken}"


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_is_deterministic(stack):
    first, second = plan_of(stack), plan_of(stack)
    assert first == second, f"{stack}: two plans of the same config differ"
    assert first.placement_table() == second.placement_table()


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_removing_the_last_worker_moves_no_other_node(stack):
    before = {n.name: n.host for n in plan_of(stack).nodes}
    after = {n.name: n.host for n in plan_of(stack, {"nodes": {"workers": {"count": 2}}}).nodes}
    before.pop("worker-2")
    assert after == before, f"{stack}: removing worker-2 moved {set(after.items()) ^ set(before.items())}"


@pytest.mark.parametrize("stack", MULTI_HOST)
def test_disabling_bootstrap_moves_no_other_node(stack):
    before = {n.name: n.host for n in plan_of(stack).nodes}
    after = {n.name: n.host for n in plan_of(stack, {"nodes": {"bootstrap": {"enabled": False}}}).nodes}
    before.pop("bootstrap")
    assert after == before, f"{stack}: disabling bootstrap moved {set(after.items()) ^ set(before.items())}"


def test_adding_workers_beyond_nine_moves_no_earlier_worker():
    """Index order, not name order: worker-10 is placed after worker-9 and never displaces worker-2."""
    hosts = [_host(f"hv-{i}", cpus=200, memory_gib=2000, disk_gib=20000) for i in range(3)]
    small = {"vcpu": 2, "memoryGiB": 4, "diskGiB": 20}
    base = {"hosts": hosts, "network": BRIDGE, "nodes": {"workers": {"count": 10, **small}}}
    before = {n.name: n.host for n in plan_of("local", base).nodes}
    more = deep_merge(base, {"nodes": {"workers": {"count": 12}}})
    after = {n.name: n.host for n in plan_of("local", more).nodes}
    assert {k: after[k] for k in before} == before, f"local with 12 workers moved {before} -> {after}"


@pytest.mark.parametrize("stack", STACKS)
def test_the_placement_export_is_the_plan_table_with_every_node_and_host(stack, stack_runs):
    run = stack_runs(stack)
    plan = plan_of(stack)
    assert run.outputs["placement"] == plan.placement_table(), f"{stack}: placement export differs from the plan"
    rows = {line.split()[0]: line.split()[2] for line in run.outputs["placement"].splitlines()[1:]}
    assert rows == {n.name: n.host for n in plan.nodes}, f"{stack}: placement rows {rows}"


A100 = {"address": "0000:17:00.0", "model": "A100-80GB"}


def test_the_third_controller_goes_to_a_gpu_host_when_only_gpu_hosts_have_room():
    """GPU hosts are kept for GPU workers only while a plain host can take the VM; controllers must spread first."""
    plan = plan_of("local", {"hosts": [_host("hv-a"), _host("hv-b"), _host("hv-gpu", gpus=[A100])],
                             "network": BRIDGE})
    assert sorted(n.host for n in plan.by_role(Role.CONTROLLER)) == ["hv-a", "hv-b", "hv-gpu"]


def test_workers_spread_by_the_share_of_each_host_they_take_not_by_count():
    plan = plan_of("local", {"hosts": [_host("hv-big", cpus=64, memory_gib=512), _host("hv-small-1", cpus=16,
                                       memory_gib=128), _host("hv-small-2", cpus=16, memory_gib=128)],
                             "network": BRIDGE, "nodes": {"workers": {"count": 6, "vcpu": 4, "memoryGiB": 8}}})
    per_host = Counter(n.host for n in plan.by_role(Role.WORKER))
    assert per_host["hv-big"] > per_host["hv-small-1"] and per_host["hv-big"] > per_host["hv-small-2"], per_host
    assert sum(per_host.values()) == 6

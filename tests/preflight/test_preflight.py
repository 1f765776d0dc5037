"""Preflight reads real libvirt drivers: the built-in test driver (a GPU hypervisor described in
tests/fixtures/libvirt/gpu-hypervisor.xml, and test:///default), and qemu:///system in the real tier."""

from __future__ import annotations

import copy

import pulumi
import pytest

from infra.ops.preflight import preflight, render_checks
from infra.spec.load import load_spec
from infra.stack_config import engine_config
from tests.harness import PROJECT_DIR, stack_config

GPU_HOST = f"test://{PROJECT_DIR}/tests/fixtures/libvirt/gpu-hypervisor.xml"

_ONE_GPU_HOST = {
    "hosts": [{
        "name": "eafgpu01", "uri": GPU_HOST, "cpus": 128, "memoryGiB": 512,
        "pool": {"name": "eaf-dev", "path": "/var/lib/libvirt/eaf-dev", "capacityGiB": 4000},
        "gpus": [{"address": a, "model": "A100-80GB"}
                 for a in ("0000:17:00.0", "0000:31:00.0", "0000:b1:00.0", "0000:ca:00.0", "0000:e3:00.0")],
    }],
    "network": {"mode": "bridge", "bridge": "br-okd", "cidr": "10.42.16.0/24", "gateway": "10.42.16.1",
                "dnsServers": ["10.42.0.53"]},
    "libvirt": {"domainType": "kvm"},
    "osImage": {"os": "fcos", "path": "/var/lib/libvirt/images/fcos.qcow2", "sha256": "ab" * 32, "kernel": None,
                "initrd": None, "cmdline": None, "checksumFile": None},
    "nodes": {
        "loadBalancer": {"vcpu": 1, "memoryGiB": 1, "diskGiB": 5},
        "bootstrap": {"vcpu": 1, "memoryGiB": 1, "diskGiB": 5},
        "controllers": {"count": 3, "vcpu": 2, "memoryGiB": 4, "diskGiB": 10},
        "workers": {"count": 0},
        "gpuWorkers": {"count": 1, "vcpu": 16, "memoryGiB": 64, "diskGiB": 20, "dataDisks": [],
                       "nodes": {"gpu-0": {"host": "eafgpu01", "gpus": ["0000:17:00.0", "0000:31:00.0"]}},
                       "migLayout": "eaf-mixed"},
    },
}


def _loaded(overrides, stack="local"):
    """The local stack (no pins, no apps) moved onto the hosts the test names."""
    config, secret_keys = stack_config(stack, overrides)
    pulumi.runtime.set_all_config(config, secret_keys)
    return load_spec(stack, engine_config(), PROJECT_DIR)


def _with(**changes):
    overrides = copy.deepcopy(_ONE_GPU_HOST)
    for path, value in changes.items():
        target = overrides
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return overrides


def _failed(checks):
    return {(c.host, c.what): c.detail for c in checks if not c.ok}


def test_a_host_with_room_and_free_gpus_passes_every_check():
    checks = preflight(_loaded(_ONE_GPU_HOST))
    assert _failed(checks) == {}, render_checks(checks)
    assert {c.what for c in checks} >= {"reachable", "cpu", "memory", "pool", "network", "gpu 0000:17:00.0"}


def test_gpu_passed_through_to_another_vm_fails():
    overrides = _with(nodes__gpuWorkers__nodes={"gpu-0": {"host": "eafgpu01", "gpus": ["0000:b1:00.0"]}})
    failed = _failed(preflight(_loaded(overrides)))
    assert "passed through to other-team-vm already" in failed[("eafgpu01", "gpu 0000:b1:00.0")]


def test_gpu_sharing_its_iommu_group_fails_naming_the_other_device():
    overrides = _with(nodes__gpuWorkers__nodes={"gpu-0": {"host": "eafgpu01", "gpus": ["0000:ca:00.0"]}})
    failed = _failed(preflight(_loaded(overrides)))
    assert "IOMMU group 140 also holds 0000:ca:00.1" in failed[("eafgpu01", "gpu 0000:ca:00.0")]


def test_gpu_the_hypervisor_does_not_have_fails():
    overrides = _with(nodes__gpuWorkers__nodes={"gpu-0": {"host": "eafgpu01", "gpus": ["0000:e3:00.0"]}})
    failed = _failed(preflight(_loaded(overrides)))
    assert failed[("eafgpu01", "gpu 0000:e3:00.0")] == "no PCI device 0000:e3:00.0 on this host (for gpu-0)"


def test_missing_host_bridge_fails():
    overrides = _with(network__bridge="br-missing")
    failed = _failed(preflight(_loaded(overrides)))
    assert failed[("eafgpu01", "network")] == "host bridge br-missing missing (host interfaces: br-okd)"


def test_memory_the_hypervisor_does_not_have_fails():
    overrides = _with(hosts=[{**_ONE_GPU_HOST["hosts"][0], "memoryGiB": 1024}],
                      nodes__gpuWorkers__memoryGiB=600)
    failed = _failed(preflight(_loaded(overrides)))
    assert failed[("eafgpu01", "memory")].startswith("needs 628736 MiB, 489472 MiB free")


def test_unreachable_hypervisor_fails_with_the_libvirt_message():
    overrides = _with(hosts=[{**_ONE_GPU_HOST["hosts"][0], "uri": "test:///nonexistent/eaf-hypervisor.xml"}])
    (check,) = preflight(_loaded(overrides))
    assert (check.what, check.ok) == ("reachable", False)
    assert check.detail.startswith("test:///nonexistent/eaf-hypervisor.xml: ")


def test_nat_network_overlapping_another_libvirt_network_fails():
    overrides = {
        "hosts": [{"name": "hv", "uri": "test:///default", "cpus": 16, "memoryGiB": 3,
                   "pool": {"name": "default-pool", "path": "/default-pool", "capacityGiB": 90}}],
        "network": {"mode": "nat", "cidr": "192.168.122.0/24", "gateway": "192.168.122.1"},
        "nodes": {"loadBalancer": {"vcpu": 1, "memoryGiB": 0.125, "diskGiB": 1},
                  "bootstrap": {"enabled": False, "vcpu": 1, "memoryGiB": 0.125, "diskGiB": 1},
                  "controllers": {"count": 1, "vcpu": 1, "memoryGiB": 0.25, "diskGiB": 1},
                  "workers": {"count": 0}, "gpuWorkers": {"count": 0}},
    }
    failed = _failed(preflight(_loaded(overrides)))
    assert failed[("hv", "network")] == (
        "192.168.122.0/24 overlaps default (192.168.122.0/24); pick another eaf:network.cidr"
    )


@pytest.mark.real
def test_local_stack_fits_this_machine(libvirt_system):
    checks = preflight(_loaded({}, stack="local"))
    assert _failed(checks) == {}, render_checks(checks)

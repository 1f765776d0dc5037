"""prod-controllers-spread and pci-device-once: crafted violations are caught and named."""

from __future__ import annotations

import dataclasses

from policy import pci, placement
from policy.records import StackInfo
from tests.harness import run_stack
from tests.policy.support import info, records

TWO_CONTROLLERS_ON_HV01 = {"nodes": {
    "workers": {"vcpu": 8, "memoryGiB": 32},  # so the planner still fits everything on the remaining room
    "controllers": {"nodes": {"ctrl-0": {"host": "okd-proda-hv01"}, "ctrl-1": {"host": "okd-proda-hv01"}}},
}}


def test_two_prod_controllers_on_one_host_are_named() -> None:
    run = run_stack("prod-a", overrides=TWO_CONTROLLERS_ON_HV01)
    violations = placement.check(records(run), info(run))
    assert len(violations) == 2, [str(v) for v in violations]
    named = {v.urn.rsplit("::", 1)[1] for v in violations}
    assert named == {"okd-proda-hv01-domain-eaf-prod-a-ctrl-0", "okd-proda-hv01-domain-eaf-prod-a-ctrl-1"}
    assert "shares hypervisor okd-proda-hv01" in violations[0].message, violations[0].message


def test_the_same_placement_is_allowed_outside_prod() -> None:
    # The policy reads the role from the stack: a dev stack with the same shape is not held to it.
    run = run_stack("prod-a", overrides=TWO_CONTROLLERS_ON_HV01)
    as_dev = dataclasses.replace(info(run), role="dev")
    assert placement.check(records(run), as_dev) == []


def test_a_prod_stack_without_three_controllers_is_reported(stack_runs) -> None:
    run = stack_runs("prod-b")
    without_ctrl_2 = [r for r in records(run) if not r.name.endswith("-domain-eaf-prod-b-ctrl-2")]
    violations = placement.check(without_ctrl_2, info(run))
    assert len(violations) == 1, [str(v) for v in violations]
    assert violations[0].message.startswith("stack prod-b (role spare) defines 2 controller domain(s) ("), violations
    assert "production needs exactly 3" in violations[0].message


def test_a_gpu_passed_through_to_two_domains_is_named(stack_runs) -> None:
    # The planner refuses such a config (a clear ConfigError), so the violation is crafted on the records: a second
    # domain on eafgpu01 with gpu-0's XML, as a buggy machine layer could register it.
    run = stack_runs("dev")
    resources = records(run)
    gpu_0 = next(r for r in resources if r.name == "eafgpu01-domain-eaf-dev-gpu-0")
    twin = dataclasses.replace(gpu_0, name="eafgpu01-domain-eaf-dev-gpu-9",
                               urn=gpu_0.urn.replace("gpu-0", "gpu-9"))
    violations = pci.check([*resources, twin], info(run))
    assert len(violations) == 8, [str(v) for v in violations]  # 4 GPUs x 2 domains
    first = violations[0].message
    assert "PCI device 0000:17:00.0 on hypervisor eafgpu01 is passed through 2 times" in first, first
    assert "eafgpu01-domain-eaf-dev-gpu-0" in first and "eafgpu01-domain-eaf-dev-gpu-9" in first, first


def test_the_same_gpu_address_on_two_hosts_is_fine(stack_runs) -> None:
    # dev's eafgpu01 and eafgpu02 both have a GPU at 0000:17:00.0: different machines, different devices.
    run = stack_runs("dev")
    from policy.machines import machines

    found = {m.host: m.pci_devices for m in machines(records(run)) if m.pci_devices}
    assert "0000:17:00.0" in found["eafgpu01"] and "0000:17:00.0" in found["eafgpu02"]
    assert pci.check(records(run), info(run)) == []


def test_a_hostdev_in_a_pulumi_libvirt_stylesheet_is_seen() -> None:
    run = run_stack("dev", overrides={"libvirt": {"backend": "provider"}})
    resources = records(run)
    gpu_0 = next(r for r in resources if r.name == "eafgpu01-domain-eaf-dev-gpu-0")
    twin = dataclasses.replace(gpu_0, name="eafgpu01-domain-eaf-dev-gpu-9", urn=gpu_0.urn + "-twin")
    violations = pci.check([*resources, twin], StackInfo("dev", "dev"))
    assert any("0000:ca:00.0 on hypervisor eafgpu01" in v.message for v in violations), [str(v) for v in violations]

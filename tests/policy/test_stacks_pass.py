"""Every policy passes on the deployable stacks as the program registers them (native and provider backends)."""

from __future__ import annotations

import pytest

from policy.catalog import STACK_POLICIES
from tests.harness import DEPLOYED_STACKS, run_stack
from tests.policy.support import info, records


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
@pytest.mark.parametrize("policy", STACK_POLICIES, ids=[p.name for p in STACK_POLICIES])
def test_policy_passes_on_the_stack(stack_runs, stack: str, policy) -> None:
    run = stack_runs(stack)
    violations = policy.check(records(run), info(run))
    assert violations == [], "\n".join(str(v) for v in violations)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_policies_pass_with_the_pulumi_libvirt_backend(stack: str) -> None:
    run = run_stack(stack, overrides={"libvirt": {"backend": "provider"}})
    violations = [v for policy in STACK_POLICIES for v in policy.check(records(run), info(run))]
    assert violations == [], "\n".join(str(v) for v in violations)


def test_the_checks_see_what_they_check(stack_runs) -> None:
    # A pass means something only if the policies found their subjects: domains, GPUs, workloads, profiles.
    from policy.images import pod_specs
    from policy.machines import machines
    from policy.profiles import hub_profiles

    run = stack_runs("prod-a")
    found = machines(records(run))
    assert sorted(m.node for m in found if m.role == "controller") == ["ctrl-0", "ctrl-1", "ctrl-2"]
    assert sum(len(m.pci_devices) for m in found) == 4, [(m.node, m.pci_devices) for m in found]
    assert sum(1 for r in records(run) for _ in pod_specs(r)) >= 5
    assert len(list(hub_profiles(records(run)))) >= 1
    assert info(run).role == "active" and info(stack_runs("prod-b")).role == "spare"

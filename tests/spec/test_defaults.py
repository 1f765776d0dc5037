"""The stacks' node shapes mirror the seed's clusters (Fermilab's OKD Dev and OKD Prod)."""

from __future__ import annotations

from infra.plan import Role


def _shape(run, role, pool=None):
    nodes = [n for n in run.by_role(role) if pool is None or n.pool == pool]
    return {(n.vcpu, n.memory_mib // 1024) for n in nodes}, len(nodes)


def _plan(stack):
    import pulumi

    from infra.spec.load import load_spec
    from infra.stack_config import engine_config
    from tests.harness import PROJECT_DIR, stack_config

    config, secret_keys = stack_config(stack)
    pulumi.runtime.set_all_config(config, secret_keys)
    return load_spec(stack, engine_config(), PROJECT_DIR).plan


def test_dev_has_3_controllers_of_4_cores_16_gb_and_3_workers_of_22_cores_88_gb():
    plan = _plan("dev")
    assert _shape(plan, Role.CONTROLLER) == ({(4, 16)}, 3)
    assert _shape(plan, Role.WORKER, pool="worker") == ({(22, 88)}, 3)


def test_dev_runs_a_plain_worker_of_15_cores_100_gb_on_each_of_the_4_old_gpu_servers():
    plan = _plan("dev")
    assert _shape(plan, Role.WORKER, pool="old-gpu") == ({(15, 100)}, 4)
    old = [n for n in plan.nodes if n.pool == "old-gpu"]
    assert sorted(n.host for n in old) == ["eafgpu-old01", "eafgpu-old02", "eafgpu-old03", "eafgpu-old04"]
    assert all(not n.gpus and ("eaf.fnal.gov/node-class", "old-gpu") in n.labels for n in old)


def test_dev_has_two_a100_gpu_workers_with_mig():
    plan = _plan("dev")
    gpus = plan.by_role(Role.GPU_WORKER)
    assert len(gpus) == 2
    assert all(g.model == "A100-80GB" for n in gpus for g in n.gpus)
    assert sum(len(n.gpus) for n in gpus) == 7, "560 GB of A100 memory = 7 x 80 GB"
    assert {n.name: n.mig_layout for n in gpus} == {"gpu-0": "eaf-dev-4gpu", "gpu-1": "eaf-dev-3gpu"}


def test_prod_has_3_controllers_of_38_cores_180_gb_and_3_workers_of_78_cores_360_gb():
    for stack in ("prod-a", "prod-b"):
        plan = _plan(stack)
        assert _shape(plan, Role.CONTROLLER) == ({(38, 180)}, 3), stack
        assert _shape(plan, Role.WORKER) == ({(78, 360)}, 3), stack


def test_controllers_sit_on_three_different_hosts():
    for stack in ("dev", "prod-a", "prod-b"):
        hosts = [n.host for n in _plan(stack).by_role(Role.CONTROLLER)]
        assert len(set(hosts)) == 3, f"{stack}: {hosts}"


def test_macs_and_ips_are_the_same_on_every_evaluation():
    first, second = _plan("prod-b"), _plan("prod-b")
    assert [(n.name, n.mac, n.ip, n.host) for n in first.nodes] == [(n.name, n.mac, n.ip, n.host) for n in second.nodes]

"""The node-settings app: chrony's MachineConfigs from the site's time servers, and the worker pools' labels and
taints set on their Nodes once they have joined."""

from __future__ import annotations

import pytest

from ignition.document import decode_data_url
from tests.apps.manifests import manifests_of, patches_for
from tests.harness import run_stack


def _machine_configs(run) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests_of(run) if m["kind"] == "MachineConfig"}


def _chrony_conf(machine_config: dict) -> str:
    (file,) = machine_config["spec"]["config"]["storage"]["files"]
    assert file["path"] == "/etc/chrony.conf"
    return decode_data_url(file["contents"]["source"]).decode()


def test_each_machine_config_pool_gets_chrony_from_the_stacks_time_servers(stack_runs):
    configs = _machine_configs(stack_runs("dev"))
    assert sorted(configs) == ["99-master-eaf-chrony", "99-worker-eaf-chrony"]
    for name, config in configs.items():
        role = name.split("-")[1]
        assert config["metadata"]["labels"] == {"machineconfiguration.openshift.io/role": role}
        servers = [line.split()[1] for line in _chrony_conf(config).splitlines() if line.startswith("server ")]
        assert servers == ["ntp1.fnal.gov", "ntp2.fnal.gov"], name


def test_a_stack_without_time_servers_leaves_chrony_to_the_os_image():
    assert _machine_configs(run_stack("dev", overrides={"network": {"ntpServers": []}})) == {}


def test_the_old_gpu_pool_labels_its_nodes_and_no_other_node_is_patched_for_a_pool():
    pool_patches = {p["metadata"]["name"]: p for p in patches_for("dev")
                    if p["kind"] == "Node" and "eaf.fnal.gov/node-class" in p["metadata"]["labels"]}
    assert sorted(pool_patches) == ["old-gpu-0", "old-gpu-1", "old-gpu-2", "old-gpu-3"]
    assert all(p["metadata"]["labels"] == {"eaf.fnal.gov/node-class": "old-gpu"} and "spec" not in p
               for p in pool_patches.values())


def test_a_pools_taints_are_set_on_its_nodes():
    run = run_stack("dev", overrides={"nodes": {"pools": {"old-gpu": {
        "taints": [{"key": "eaf.fnal.gov/old-hardware", "effect": "PreferNoSchedule"}]}}}})
    nodes = [r for r in run.resources if r.type == "kubernetes:core/v1:NodePatch"]
    taints = {r.inputs["metadata"]["name"]: r.inputs["spec"]["taints"] for r in nodes if "spec" in r.inputs}
    assert taints == {f"old-gpu-{i}": [{"key": "eaf.fnal.gov/old-hardware", "value": "",
                                        "effect": "PreferNoSchedule"}] for i in range(4)}


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_node_settings_can_be_turned_off(stack):
    run = run_stack(stack, overrides={"apps": {"nodeSettings": {"enabled": False}}})
    assert not [r.urn for r in run.resources if r.type == "eaf:apps:NodeSettings"]
    assert _machine_configs(run) == {}

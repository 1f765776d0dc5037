"""GPU operator + NFD: OLM subscriptions pinned to one CSV, MIG layouts per GPU worker, mixed strategy."""

from __future__ import annotations

import pytest
import yaml

from infra.catalog import versions
from infra.paths import PROJECT_DIR
from infra.plan.model import Role
from infra.spec.layering import read_stack_file
from infra.spec.load import load_spec
from tests.apps.manifests import manifests_for, named, patches_for, run_for
from tests.harness import DEPLOYED_STACKS


def _gpu_hostnames(stack: str) -> set[str]:
    loaded = load_spec(stack, read_stack_file(PROJECT_DIR, stack), PROJECT_DIR, check_secrets=False)
    return {n.hostname for n in loaded.plan.by_role(Role.GPU_WORKER)}


def _mig_labels(stack: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["metadata"]["labels"]["nvidia.com/mig.config"]
            for p in patches_for(stack) if p["kind"] == "Node" and "nvidia.com/mig.config" in p["metadata"]["labels"]}


def _mig_config(stack: str) -> dict:
    config = named(manifests_for(stack), "ConfigMap", "eaf-mig-parted-config", "nvidia-gpu-operator")
    return yaml.safe_load(config["data"]["config.yaml"])["mig-configs"]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_gpu_worker_and_no_other_node_gets_a_mig_layout_label(stack):
    # ignition/node.py writes the short hostname to /etc/hostname: the kubelet registers the node under it.
    assert set(_mig_labels(stack)) == _gpu_hostnames(stack)


def test_dev_labels_each_a100_server_with_its_own_layout():
    assert _mig_labels("dev") == {"gpu-0": "eaf-dev-4gpu", "gpu-1": "eaf-dev-3gpu"}


@pytest.mark.parametrize("stack", ["prod-a", "prod-b"])
def test_prod_gpu_workers_share_the_facility_layout(stack):
    assert set(_mig_labels(stack).values()) == {"eaf-mixed"}


def test_mig_parted_config_cuts_each_a100_into_10_20_and_40_gb_slices():
    assert _mig_config("prod-a")["eaf-mixed"] == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}}]
    assert _mig_config("prod-a")["all-disabled"] == [{"devices": "all", "mig-enabled": False}]


def test_a_per_gpu_layout_becomes_one_mig_parted_entry_per_distinct_cut():
    # mig-parted's `devices` are the node's GPU indices, in the order the node lists its GPUs.
    assert _mig_config("dev")["eaf-dev-4gpu"] == [
        {"devices": [0, 1, 2], "mig-enabled": True, "mig-devices": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}},
        {"devices": [3], "mig-enabled": True, "mig-devices": {"1g.10gb": 4, "3g.40gb": 1}}]


def test_cluster_policy_uses_the_mixed_strategy_and_our_mig_config():
    policy = named(manifests_for("prod-a"), "ClusterPolicy", "gpu-cluster-policy")["spec"]
    assert policy["mig"] == {"strategy": "mixed"}
    assert policy["migManager"]["config"] == {"name": "eaf-mig-parted-config", "default": "all-disabled"}
    assert policy["dcgmExporter"]["serviceMonitor"] == {"enabled": True}


@pytest.mark.parametrize("pin, namespace", [("nfd", "openshift-nfd"), ("gpu-operator", "nvidia-gpu-operator"),
                                            ("keda", "keda")])
def test_operators_are_subscribed_at_the_pinned_csv_with_manual_approval(pin, namespace):
    expected = versions().apps.operators[pin]
    manifests = manifests_for("dev")
    subscription = named(manifests, "Subscription", expected.package, namespace)["spec"]
    assert subscription["startingCSV"] == expected.starting_csv
    assert subscription["channel"] == expected.channel
    assert subscription["installPlanApproval"] == "Manual"
    jobs = [m for m in manifests if m["kind"] == "Job" and m["metadata"]["namespace"] == namespace]
    assert len(jobs) == 1, f"one approver Job in {namespace}"
    env = {e["name"]: e["value"] for e in jobs[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {"PINNED_CSV": expected.starting_csv, "NAMESPACE": namespace}


def test_operator_custom_resources_wait_for_the_approved_install():
    run = run_for("dev")
    policy = next(r for r in run.resources if r.type == "kubernetes:nvidia.com/v1:ClusterPolicy")
    approvers = {r.urn for r in run.resources if r.type == "kubernetes:batch/v1:Job"}
    assert approvers & set(policy.dependencies), f"{policy.urn} does not wait for the approver Jobs"


def test_gpu_namespaces_are_scraped_by_platform_monitoring():
    manifests = manifests_for("dev")
    for name in ("nvidia-gpu-operator", "openshift-nfd"):
        labels = named(manifests, "Namespace", name)["metadata"]["labels"]
        assert labels["openshift.io/cluster-monitoring"] == "true", name


def test_a_layout_without_20gb_slices_is_refused_for_the_20gb_gpu_profiles():
    from infra.spec.errors import ConfigError
    from tests.harness import run_stack

    with pytest.raises(ConfigError) as caught:
        run_stack("prod-a", overrides={"nodes": {"gpuWorkers": {"migLayout": "eaf-small-slices"}}})
    message = str(caught.value)
    assert "profiles[3].migProfile = '2g.20gb'" in message, message
    assert "no GPU worker of this stack is cut into this MIG slice" in message and "use one of: 1g.10gb" in message


def test_a_catalog_file_that_does_not_exist_is_named():
    from infra.spec.errors import ConfigError
    from tests.harness import run_stack

    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"jupyterhub": {"catalog": "vo-catalog-small.yaml"}}})
    assert "eaf:apps.jupyterhub.catalog = 'vo-catalog-small.yaml'" in str(caught.value)
    assert "use one of: vo-catalog.yaml" in str(caught.value)


def test_a_node_with_another_layout_gets_its_own_label_and_mig_config():
    from infra.apps import gpu_operator
    from infra.apps.validate import app_context

    loaded = load_spec("dev", read_stack_file(PROJECT_DIR, "dev"), PROJECT_DIR, check_secrets=False)
    nodes = tuple(n if n.name != "gpu-1" else type(n)(**{**n.__dict__, "mig_layout": "whole-gpu"})
                  for n in loaded.plan.nodes)
    plan = type(loaded.plan)(**{**loaded.plan.__dict__, "nodes": nodes})
    groups = {g.name: g.manifests for g in gpu_operator.build(app_context("dev", loaded.spec.apps, plan)).groups}
    labels = {m["metadata"]["name"]: m["metadata"]["labels"]["nvidia.com/mig.config"] for m in groups["node-labels"]}
    assert labels == {"gpu-0": "eaf-dev-4gpu", "gpu-1": "whole-gpu"}
    config = yaml.safe_load(groups["config"][0]["data"]["config.yaml"])
    assert config["mig-configs"]["whole-gpu"] == [{"devices": "all", "mig-enabled": True,
                                                   "mig-devices": {"7g.80gb": 1}}]


def test_the_driver_is_compiled_on_each_node_with_the_clusters_driver_toolkit():
    # NVIDIA publishes no precompiled driver for OKD's FCOS or SCOS nodes.
    policy = named(manifests_for("dev"), "ClusterPolicy", "gpu-cluster-policy")["spec"]
    assert policy["driver"] == {"enabled": True, "usePrecompiled": False}
    assert policy["operator"]["use_ocp_driver_toolkit"] is True

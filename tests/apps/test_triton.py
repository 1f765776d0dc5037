"""Triton: one MIG slice per replica, models from a PVC, KEDA scaling on queue latency and throughput."""

from __future__ import annotations

import pytest

from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS, run_stack


def _scaled_object(stack: str, overrides=None) -> dict:
    if overrides is None:
        return named(manifests_for(stack), "ScaledObject", "tritonserver", "triton")
    run = run_stack(stack, overrides=overrides)
    return next(r.inputs for r in run.resources if r.type == "kubernetes:keda.sh/v1alpha1:ScaledObject")


# prod's GPU workers offer four 40 GB slices: Triton scales to three, one stays for the ACCEL-AI profile.
MAX_REPLICAS = {"dev": 4, "prod-a": 3, "prod-b": 3}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_triton_scales_between_one_and_its_slice_share_on_latency_and_throughput(stack):
    spec = _scaled_object(stack)["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tritonserver"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, MAX_REPLICAS[stack])
    triggers = {t["name"]: t for t in spec["triggers"]}
    latency, throughput = triggers["queue-latency-ms"], triggers["requests-per-second"]
    assert latency["metricType"] == "Value" and latency["metadata"]["threshold"] == "50"
    assert "nv_inference_queue_duration_us" in latency["metadata"]["query"]
    assert throughput["metricType"] == "AverageValue" and throughput["metadata"]["threshold"] == "100"
    assert all(t["type"] == "prometheus" and t["metadata"]["namespace"] == "triton" for t in triggers.values())


def test_autoscaler_settings_come_from_the_stack():
    overrides = {"apps": {"triton": {"minReplicas": 2, "maxReplicas": 3, "queueLatencyTargetMs": 20}}}
    spec = _scaled_object("prod-a", overrides)["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 3)
    assert {t["name"]: t["metadata"]["threshold"] for t in spec["triggers"]}["queue-latency-ms"] == "20"


def test_each_replica_gets_one_40gb_slice_and_reads_models_from_the_pvc():
    manifests = manifests_for("dev")
    deployment = named(manifests, "Deployment", "tritonserver", "triton")
    assert "replicas" not in deployment["spec"], "the ScaledObject owns the replica count"
    pod = deployment["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/mig-3g.40gb"] == resources["requests"]["nvidia.com/mig-3g.40gb"] == "1"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"] == {"claimName": "model-repository", "readOnly": True}
    claim = named(manifests, "PersistentVolumeClaim", "model-repository", "triton")
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_keda_reads_only_the_triton_namespace_metrics():
    manifests = manifests_for("dev")
    auth = named(manifests, "TriggerAuthentication", "thanos-bearer", "triton")
    assert {s["parameter"] for s in auth["spec"]["secretTargetRef"]} == {"bearerToken", "ca"}
    role = named(manifests, "Role", "thanos-metrics-reader", "triton")
    assert {"pods"} <= {r for rule in role["rules"] for r in rule["resources"]}
    scaled = named(manifests, "ScaledObject", "tritonserver", "triton")["spec"]["triggers"][0]["metadata"]
    assert scaled["serverAddress"].endswith(":9092"), "the tenancy port confines queries to one namespace"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_namespace_quota_holds_triton_to_its_maximum_of_40gb_slices(stack):
    quota = named(manifests_for(stack), "ResourceQuota", "gpu-slices", "triton")
    assert quota["spec"]["hard"] == {"requests.nvidia.com/mig-3g.40gb": str(MAX_REPLICAS[stack])}


def test_a_rollout_replaces_replicas_without_a_slice_above_the_quota():
    strategy = named(manifests_for("prod-a"), "Deployment", "tritonserver", "triton")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_a_whole_gpu_triton_is_held_to_its_maximum_of_gpus():
    run = run_stack("dev", overrides={"apps": {"triton": {"migProfile": None, "maxReplicas": 2}}})
    quota = next(r.inputs for r in run.resources if r.type == "kubernetes:core/v1:ResourceQuota")
    assert quota["spec"]["hard"] == {"requests.nvidia.com/gpu": "2"}

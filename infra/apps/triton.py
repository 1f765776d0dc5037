"""Triton Inference Server on a MIG slice, models from a PVC, scaled by KEDA on queue latency and throughput.

Why KEDA and not an HPA on custom metrics: OKD's Prometheus adapter serves only resource metrics; an HPA on
Triton's queue metrics would need a second, cluster-wide adapter with hand-written rules. KEDA (OKD's "custom
metrics autoscaler", installed through OLM) queries the Thanos querier with the app's own PromQL, per namespace,
with a token of a service account that may read only this namespace's metrics.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from infra.apps import objects as o
from infra.apps.alert_rules import prometheus_rules
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.gpu_operator import gpu_nodes, offered_mig_slices, unoffered_slice_fix
from infra.apps.images import image
from infra.apps.olm import operator_manifests
from infra.plan.model import ClusterPlan, PlannedNode
from infra.spec.apps import AppSettings, Compute, compute
from infra.spec.base import DnsLabel
from infra.spec.errors import Problem

APP = "triton"
DEPLOYMENT = "tritonserver"
# Tenancy port of the Thanos querier: queries are confined to the `namespace` the trigger names.
THANOS_TENANCY_URL = "https://thanos-querier.openshift-monitoring.svc.cluster.local:9092"


class TritonSettings(AppSettings):
    namespace: DnsLabel = "triton"
    mig_profile: str | None = Field("3g.40gb", description="MIG slice per replica; null: one whole GPU")
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(4, ge=1)
    notebook_mig_reserve: int = Field(
        1, ge=0, description="slices of migProfile Triton must leave to the notebook profiles that request the same "
                             "slice (ACCEL-AI's 40 GB profile): maxReplicas + this <= the slices the GPU workers "
                             "offer; Triton's namespace quota holds it to maxReplicas")
    queue_latency_target_ms: float = Field(50, gt=0, description="average queue time per request to scale at")
    requests_per_second_per_replica: float = Field(100, gt=0, description="throughput one replica serves")
    keda_namespace: DnsLabel = "keda"
    install_plan_approval: Literal["Manual", "Automatic"] = "Manual"
    model_repository_gib: int = Field(100, alias="modelRepositoryGiB", gt=0)
    model_repository_storage_class: str | None = None
    compute: Compute = compute((2, 8), (8, 32))

    @model_validator(mode="after")
    def _min_within_max(self) -> TritonSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}")
        return self


def queue_latency_query(ns: str) -> str:
    """Average queue time per request over the last minute, in milliseconds."""
    return (f'sum(rate(nv_inference_queue_duration_us{{namespace="{ns}"}}[1m])) / '
            f'clamp_min(sum(rate(nv_inference_request_success{{namespace="{ns}"}}[1m])), 1) / 1000')


def throughput_query(ns: str) -> str:
    return f'sum(rate(nv_inference_request_success{{namespace="{ns}"}}[1m]))'


def gpu_resource(settings: TritonSettings) -> str:
    """The extended resource one replica requests: its MIG slice, or one whole GPU."""
    return o.mig_resource(settings.mig_profile) if settings.mig_profile else "nvidia.com/gpu"


def slice_quota(settings: TritonSettings) -> dict[str, Any]:
    """Triton's namespace may hold at most maxReplicas of its slices, whatever scales it: the rest stay for the
    notebooks (the check below keeps notebookMigReserve of them free)."""
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": o.metadata("gpu-slices", settings.namespace,
                                                                                APP, "quota"),
            "spec": {"hard": {f"requests.{gpu_resource(settings)}": str(settings.max_replicas)}}}


def _server(settings: TritonSettings) -> list[dict[str, Any]]:
    ns = settings.namespace
    extra = {gpu_resource(settings): 1}
    pod = {
        "metadata": {"labels": o.labels(APP, DEPLOYMENT)},
        "spec": {
            "containers": [{
                "name": "tritonserver", "image": image("tritonserver"),
                "command": ["tritonserver", "--model-repository=/models", "--model-control-mode=poll",
                            "--repository-poll-secs=30", "--allow-metrics=true", "--metrics-port=8002"],
                "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"},
                          {"name": "grpc", "containerPort": 8001, "protocol": "TCP"},
                          {"name": "metrics", "containerPort": 8002, "protocol": "TCP"}],
                "resources": o.resources(settings.compute, extra),
                "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"},
                                  "initialDelaySeconds": 60, "periodSeconds": 20},
                "securityContext": o.hardened(),
                "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True},
                                 {"name": "shm", "mountPath": "/dev/shm"}],
            }],
            "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "model-repository",
                                                                      "readOnly": True}},
                        # Python backends exchange tensors through shared memory; the default 64 MiB is too small.
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}],
        },
    }
    objects = [
        slice_quota(settings),
        o.pvc("model-repository", ns, APP, f"{settings.model_repository_gib}Gi", ["ReadWriteMany"],
              settings.model_repository_storage_class),
        # No `replicas`: the ScaledObject owns the replica count; the first rollout starts with one.
        # No surge: a rollout at maxReplicas would need one slice above the quota; replace one replica at a time.
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata(DEPLOYMENT, ns, APP, DEPLOYMENT),
         "spec": {"selector": {"matchLabels": o.selector(APP, DEPLOYMENT)}, "template": pod,
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}},
        o.service(DEPLOYMENT, ns, APP, DEPLOYMENT, [("http", 8000, 8000), ("grpc", 8001, 8001),
                                                   ("metrics", 8002, 8002)]),
    ]
    return objects


def _autoscaler(settings: TritonSettings) -> list[dict[str, Any]]:
    ns = settings.namespace
    reader = "keda-prometheus"
    trigger_metadata = {"serverAddress": THANOS_TENANCY_URL, "namespace": ns, "authModes": "bearer"}
    return [
        o.service_account(reader, ns, APP),
        o.role("thanos-metrics-reader", ns, APP, [
            o.rule([""], ["pods"], ["get"]),
            o.rule(["metrics.k8s.io"], ["pods", "nodes"], ["get", "list", "watch"]),
        ]),
        o.binding("keda-thanos-metrics-reader", ns, APP, "Role", "thanos-metrics-reader", [(ns, reader)]),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": o.metadata(f"{reader}-token", ns, APP, reader,
                                annotations={"kubernetes.io/service-account.name": reader})},
        {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
         "metadata": o.metadata("thanos-bearer", ns, APP, "autoscaler"),
         "spec": {"secretTargetRef": [{"parameter": "bearerToken", "name": f"{reader}-token", "key": "token"},
                                      {"parameter": "ca", "name": f"{reader}-token", "key": "ca.crt"}]}},
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
         "metadata": o.metadata(DEPLOYMENT, ns, APP, "autoscaler"),
         "spec": {
             "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": DEPLOYMENT},
             "minReplicaCount": settings.min_replicas, "maxReplicaCount": settings.max_replicas,
             "pollingInterval": 30, "cooldownPeriod": 300,
             "triggers": [
                 # Latency does not add up over replicas: "Value" scales by current/target of the one number.
                 {"type": "prometheus", "metricType": "Value", "name": "queue-latency-ms",
                  "authenticationRef": {"name": "thanos-bearer"},
                  "metadata": {**trigger_metadata, "query": queue_latency_query(ns),
                               "threshold": f"{settings.queue_latency_target_ms:g}"}},
                 # Throughput does: "AverageValue" divides it by the replicas.
                 {"type": "prometheus", "metricType": "AverageValue", "name": "requests-per-second",
                  "authenticationRef": {"name": "thanos-bearer"},
                  "metadata": {**trigger_metadata, "query": throughput_query(ns),
                               "threshold": f"{settings.requests_per_second_per_replica:g}"}},
             ],
         }},
    ]


def build(context: AppContext) -> AppBuild:
    settings: TritonSettings = context.apps.triton
    keda_ns = settings.keda_namespace
    server = _server(settings)
    if context.apps.monitoring.enabled:
        server.append(o.service_monitor(DEPLOYMENT, settings.namespace, APP, DEPLOYMENT, "metrics", "/metrics"))
        server += prometheus_rules("triton", settings.namespace, APP)
    groups = (
        ObjectGroup("namespaces", [o.namespace(keda_ns, "keda"), o.namespace(settings.namespace, APP)]),
        ObjectGroup("olm", operator_manifests("keda", keda_ns, "keda", settings.install_plan_approval,
                                              all_namespaces=True)),
        ObjectGroup("server", server),
        ObjectGroup("keda-controller", [{"apiVersion": "keda.sh/v1alpha1", "kind": "KedaController",
                                         "metadata": o.metadata("keda", keda_ns, "keda", "controller"),
                                         "spec": {"watchNamespace": "", "operator": {"logLevel": "info"},
                                                  "metricsServer": {"logLevel": "0"}}}], after=("olm",)),
        ObjectGroup("autoscaler", _autoscaler(settings), after=("server", "keda-controller")),
    )
    endpoint = f"http://{DEPLOYMENT}.{settings.namespace}.svc:8000"
    return AppBuild(groups, exports={"triton": endpoint}, outputs={"endpoint": endpoint})


_NAMED_GPU_WORKERS = 6


def _pins(node: PlannedNode) -> str:
    group = "eaf:nodes.gpuWorkers" if node.pool == "gpu" else f"eaf:nodes.pools.{node.pool}"
    return f"{group}.nodes.{node.name}"


def _gpu_workers(plan: ClusterPlan | None) -> str:
    """Each GPU worker with its GPU count and the field that pins its GPUs: the one a user may just have changed."""
    nodes = gpu_nodes(plan)
    text = "; ".join(f"{n.name} has {len(n.gpus)} GPU(s) ({_pins(n)}.gpus) cut by {n.mig_layout or 'no layout'} "
                     f"({_pins(n)}.migLayout)" for n in nodes[:_NAMED_GPU_WORKERS])
    return text + (f"; and {len(nodes) - _NAMED_GPU_WORKERS} more" if len(nodes) > _NAMED_GPU_WORKERS else "")


def problems(context: AppContext) -> list[Problem]:
    settings: TritonSettings = context.apps.triton
    if settings.mig_profile is None:
        return []
    if not context.apps.gpu_operator.enabled:
        return [Problem("eaf:apps.triton.migProfile", settings.mig_profile,
                        "needs the GPU operator to advertise MIG slices", "set eaf:apps.gpuOperator.enabled: true")]
    if context.plan is None:
        return []
    offered = offered_mig_slices(context.plan)
    if settings.mig_profile not in offered:
        return [Problem("eaf:apps.triton.migProfile", settings.mig_profile,
                        "no GPU worker of this stack is cut into this MIG slice (eaf:nodes.gpuWorkers.migLayout)",
                        unoffered_slice_fix(offered))]
    if settings.max_replicas > offered[settings.mig_profile]:
        return [Problem("eaf:apps.triton.maxReplicas", settings.max_replicas,
                        f"only {offered[settings.mig_profile]} {settings.mig_profile} slice(s) exist on the stack's "
                        f"GPU workers: {_gpu_workers(context.plan)} (their GPUs: eaf:nodes.gpuWorkers.gpusPerNode; "
                        "their cut: eaf:nodes.gpuWorkers.migLayout)",
                        f"set maxReplicas <= {offered[settings.mig_profile]}, or give the GPU workers more GPUs")]
    free = offered[settings.mig_profile] - settings.max_replicas
    if free < settings.notebook_mig_reserve:
        return [Problem("eaf:apps.triton.maxReplicas", settings.max_replicas,
                        f"Triton could take {settings.max_replicas} of the {offered[settings.mig_profile]} "
                        f"{settings.mig_profile} slice(s), leaving {free} to the notebook profiles, but "
                        f"eaf:apps.triton.notebookMigReserve keeps {settings.notebook_mig_reserve} for them; the "
                        f"slices: {_gpu_workers(context.plan)}",
                        f"set maxReplicas <= {offered[settings.mig_profile] - settings.notebook_mig_reserve}, "
                        "or lower eaf:apps.triton.notebookMigReserve")]
    return []


DEFINITION = AppDefinition(key="triton", settings=TritonSettings, description="Triton Inference Server, scaled by KEDA",
                           component="Triton", build=build, problems=problems)

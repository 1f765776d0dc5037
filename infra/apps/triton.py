"""Triton Inference Server on a MIG slice, models from a PVC, scaled by KEDA on queue latency and throughput.

Why KEDA and not an HPA on custom metrics: OKD's Prometheus adapter serves only resource metrics; an HPA on
Triton's queue metrics would need a second, cluster-wide adapter with hand-written rules. KEDA (OKD's "custom
metrics autoscaler", installed through OLM) queries the Thanos querier with the app's own PromQL, per namespace,
with a token of a service account that may read only this namespace's metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.apps import objects as o
from infra.apps.images import image
from infra.apps.kube import Kube, register
from infra.apps.olm import operator_manifests
from infra.spec import apps as spec

APP = "triton"
DEPLOYMENT = "tritonserver"
# Tenancy port of the Thanos querier: queries are confined to the `namespace` the trigger names.
THANOS_TENANCY_URL = "https://thanos-querier.openshift-monitoring.svc.cluster.local:9092"


@dataclass(frozen=True)
class TritonArgs:
    settings: spec.Triton
    monitoring: bool


def queue_latency_query(ns: str) -> str:
    """Average queue time per request over the last minute, in milliseconds."""
    return (f'sum(rate(nv_inference_queue_duration_us{{namespace="{ns}"}}[1m])) / '
            f'clamp_min(sum(rate(nv_inference_request_success{{namespace="{ns}"}}[1m])), 1) / 1000')


def throughput_query(ns: str) -> str:
    return f'sum(rate(nv_inference_request_success{{namespace="{ns}"}}[1m]))'


def _server(settings: spec.Triton) -> list[dict[str, Any]]:
    ns = settings.namespace
    extra = {o.mig_resource(settings.mig_profile): 1} if settings.mig_profile else {"nvidia.com/gpu": 1}
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
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
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
        o.pvc("model-repository", ns, APP, f"{settings.model_repository_gib}Gi", ["ReadWriteMany"],
              settings.model_repository_storage_class),
        # No `replicas`: the ScaledObject owns the replica count; the first rollout starts with one.
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata(DEPLOYMENT, ns, APP, DEPLOYMENT),
         "spec": {"selector": {"matchLabels": o.selector(APP, DEPLOYMENT)}, "template": pod}},
        o.service(DEPLOYMENT, ns, APP, DEPLOYMENT, [("http", 8000, 8000), ("grpc", 8001, 8001),
                                                   ("metrics", 8002, 8002)]),
    ]
    return objects


def _autoscaler(settings: spec.Triton) -> list[dict[str, Any]]:
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


def manifests(args: TritonArgs) -> dict[str, list[dict[str, Any]]]:
    settings = args.settings
    keda_ns = settings.keda_namespace
    server = _server(settings)
    if args.monitoring:
        server.append(o.service_monitor(DEPLOYMENT, settings.namespace, APP, DEPLOYMENT, "metrics", "/metrics"))
    return {
        "namespaces": [o.namespace(keda_ns, "keda"), o.namespace(settings.namespace, APP)],
        "olm": operator_manifests("keda", keda_ns, "keda", settings.install_plan_approval, all_namespaces=True),
        "server": server,
        "keda_controller": [{"apiVersion": "keda.sh/v1alpha1", "kind": "KedaController",
                             "metadata": o.metadata("keda", keda_ns, "keda", "controller"),
                             "spec": {"watchNamespace": "", "operator": {"logLevel": "info"},
                                      "metricsServer": {"logLevel": "0"}}}],
        "autoscaler": _autoscaler(settings),
    }


class Triton(pulumi.ComponentResource):
    def __init__(self, name: str, args: TritonArgs, kube: Kube, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:apps:Triton", name, None, opts)
        groups = manifests(args)
        namespaces = {m["metadata"]["name"]: register(m, kube, self) for m in groups["namespaces"]}
        keda_ns, ns = namespaces[args.settings.keda_namespace], namespaces[args.settings.namespace]
        olm = [register(m, kube, self, [keda_ns]) for m in groups["olm"]]
        server = [register(m, kube, self, [ns]) for m in groups["server"]]
        controller = [register(m, kube, self, [keda_ns, *olm]) for m in groups["keda_controller"]]
        autoscaler = [register(m, kube, self, [ns, *server, *controller]) for m in groups["autoscaler"]]
        self.objects = [*namespaces.values(), *olm, *server, *controller, *autoscaler]
        self.endpoint = f"http://{DEPLOYMENT}.{args.settings.namespace}.svc:8000"
        self.register_outputs({"endpoint": self.endpoint})

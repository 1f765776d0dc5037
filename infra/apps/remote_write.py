"""Prometheus remote write from OKD's monitoring to the lab's monitoring endpoint.

OKD runs two Prometheus: the platform's (openshift-monitoring: kubelet/cAdvisor, kube-state-metrics, the DCGM
exporter of the GPU operator's namespace) and the user-workload one (openshift-user-workload-monitoring: the hub,
Triton, Dask Gateway, and the status rules of user namespaces). Each gets the same `remoteWrite` entry in its own
ConfigMap (`cluster-monitoring-config` -> prometheusK8s, `user-workload-monitoring-config` -> prometheus), with the
credential as a Secret in its own namespace (the operator reads secrets only there). Only the facility's series are
sent (`writeRelabelConfigs` keep by metric name): the lab gets the dashboards' and status data, not the whole cluster.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from infra.apps import objects as o
from infra.spec.base import Strict

PLATFORM_NAMESPACE = "openshift-monitoring"
USER_WORKLOAD_NAMESPACE = "openshift-user-workload-monitoring"  # created with the cluster (the monitoring operator)
SECRET_NAME = "eaf-remote-write"
CREDENTIAL_SECRET = "monitoringRemoteWriteCredential"  # stack secret eaf:<this>: the password or bearer token

# Metric names the dashboards, alerts and status read (infra/data/apps/dashboards.yaml, alerts.yaml).
DEFAULT_SENT = (
    "eaf:status:.+", "up", "jupyterhub_.+", "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "container_network_(receive|transmit)_bytes_total", "DCGM_FI_.+", "kube_pod_container_resource_requests",
    "kube_node_status_allocatable", "kube_deployment_(spec_replicas|status_replicas_available)", "nv_inference_.+",
)


class RemoteWrite(Strict):
    """Where and how the cluster's Prometheus push the facility's series to the lab (`eaf:apps.monitoring.remoteWrite`).
    The credential is the stack secret `eaf:monitoringRemoteWriteCredential`."""

    url: str = Field(pattern=r"^https://[^\s/]+(/[^\s]*)?$",
                     description="the lab's Prometheus remote-write receiver (https)")
    auth: Literal["basic", "bearer"] = Field("basic", description="basic: username + the credential as password")
    username: str | None = Field(None, description="for auth basic")
    send: tuple[str, ...] = Field(DEFAULT_SENT, min_length=1,
                                  description="metric-name regular expressions (RE2, anchored) of the series sent")
    cluster_label: str = Field("eaf_cluster", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$",
                               description="label added to every sent series: the cluster's name")

    @model_validator(mode="after")
    def _username_for_basic(self) -> RemoteWrite:
        if self.auth == "basic" and not self.username:
            raise ValueError("auth basic needs a username (or auth: bearer for a token)")
        if self.auth == "bearer" and self.username:
            raise ValueError("auth bearer takes no username")
        return self


def spec(remote_write: RemoteWrite, cluster: str) -> dict[str, Any]:
    """One RemoteWriteSpec of OKD's monitoring config (the same for both Prometheus)."""
    credential = {"name": SECRET_NAME, "key": "credential"}
    entry: dict[str, Any] = {
        "url": remote_write.url, "name": "eaf-lab",
        "writeRelabelConfigs": write_relabel_configs(remote_write, cluster),
    }
    if remote_write.auth == "basic":
        entry["basicAuth"] = {"username": {"name": SECRET_NAME, "key": "username"}, "password": credential}
    else:
        entry["authorization"] = {"type": "Bearer", "credentials": credential}
    return entry


def write_relabel_configs(remote_write: RemoteWrite, cluster: str) -> list[dict[str, Any]]:
    """Keep only the facility's series, then mark them with the cluster they come from."""
    return [{"sourceLabels": ["__name__"], "regex": "|".join(f"({n})" for n in remote_write.send), "action": "keep"},
            {"targetLabel": remote_write.cluster_label, "replacement": cluster, "action": "replace"}]


def secrets(remote_write: RemoteWrite, credential: Any) -> list[dict[str, Any]]:
    """The credential in each Prometheus' namespace (`credential`: pulumi.Input[str], a secret)."""
    data: dict[str, Any] = {"credential": credential}
    if remote_write.auth == "basic":
        data["username"] = remote_write.username or ""
    return [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": o.metadata(SECRET_NAME, namespace, "monitoring", "remote-write"), "stringData": data}
            for namespace in (PLATFORM_NAMESPACE, USER_WORKLOAD_NAMESPACE)]

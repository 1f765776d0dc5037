"""Monitoring on OKD's own stack: user-workload monitoring switched on, Grafana with dashboards as code.

OKD already runs Prometheus, node-exporter (port 9100 on every node) and Thanos; a second stack would collide
with them. So this only sets `enableUserWorkload` (the platform then scrapes the apps' ServiceMonitors), optionally
remote write to the lab (infra/apps/remote_write.py) in both Prometheus' configs, and adds a Grafana that reads
everything through the Thanos querier with a service-account token (cluster-monitoring-view).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import Field

from infra.apps import objects as o
from infra.apps import remote_write as rw
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, SecretNeed
from infra.apps.dashboards import DATASOURCE, DashboardContext, dashboard_files
from infra.apps.exposure import TlsSettings, exposure
from infra.apps.images import image
from infra.spec.apps import AppSettings, Compute, compute
from infra.spec.base import DnsLabel, DnsName

APP = "grafana"
PLATFORM_NAMESPACE = "openshift-monitoring"
THANOS_URL = "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091"
TOKEN_DIR = "/var/run/secrets/grafana"
CA_DIR = "/etc/grafana/service-ca"
DASHBOARD_DIR = "/etc/grafana/dashboards"


class MonitoringSettings(AppSettings):
    namespace: DnsLabel = "eaf-monitoring"
    grafana_hostname: DnsName | None = Field(None, description="default: grafana.apps.<cluster domain>")
    grafana: Compute = compute((0.1, 1), (0.25, 1))
    remote_write: rw.RemoteWrite | None = Field(None, description="push the facility's series to the lab's monitoring")


@dataclass(frozen=True)
class MonitoringArgs:
    settings: MonitoringSettings
    cluster_domain: str
    admin_password: Any  # pulumi.Input[str]
    cluster_name: str = ""
    hub_namespace: str = "jupyterhub"
    remote_write_credential: Any = None  # pulumi.Input[str]; set when settings.remote_write is
    tls: TlsSettings | None = None  # a facility name outside *.apps gets its certificate through it

    @property
    def hostname(self) -> str:
        return grafana_hostname(self.settings, self.cluster_domain)


def grafana_hostname(settings: MonitoringSettings, cluster_domain: str) -> str:
    return settings.grafana_hostname or f"grafana.apps.{cluster_domain}"


def cluster_monitoring_config(remote_write: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"enableUserWorkload": True}
    if remote_write is not None:
        config["prometheusK8s"] = {"remoteWrite": [remote_write]}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cluster-monitoring-config", "namespace": PLATFORM_NAMESPACE,
                         "labels": o.labels("monitoring", "cluster-monitoring-config")},
            "data": {"config.yaml": yaml.safe_dump(config, sort_keys=True)}}


def user_workload_monitoring_config(remote_write: dict[str, Any]) -> dict[str, Any]:
    """The user-workload Prometheus' config; only managed when remote write is on (else OKD's defaults stay)."""
    config = {"prometheus": {"remoteWrite": [remote_write]}}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "user-workload-monitoring-config", "namespace": rw.USER_WORKLOAD_NAMESPACE,
                         "labels": o.labels("monitoring", "user-workload-monitoring-config")},
            "data": {"config.yaml": yaml.safe_dump(config, sort_keys=True)}}


def _remote_write_objects(args: MonitoringArgs) -> list[dict[str, Any]]:
    if args.settings.remote_write is None:
        return []
    entry = rw.spec(args.settings.remote_write, args.cluster_name)
    return [user_workload_monitoring_config(entry),
            *rw.secrets(args.settings.remote_write, args.remote_write_credential)]


def _datasources() -> str:
    source = {"name": "Thanos", "uid": DATASOURCE["uid"], "type": "prometheus", "access": "proxy", "url": THANOS_URL,
              "isDefault": True, "editable": False,
              "jsonData": {"httpHeaderName1": "Authorization", "tlsAuthWithCACert": True, "timeInterval": "30s"},
              # Grafana reads $__file{} at provisioning: the token and CA never appear in a ConfigMap.
              "secureJsonData": {"httpHeaderValue1": "Bearer $__file{" + TOKEN_DIR + "/token}",
                                 "tlsCACert": "$__file{" + CA_DIR + "/service-ca.crt}"}}
    return yaml.safe_dump({"apiVersion": 1, "datasources": [source]}, sort_keys=True)


def _dashboard_provider() -> str:
    provider = {"name": "eaf", "type": "file", "disableDeletion": True, "allowUiUpdates": False,
                "options": {"path": DASHBOARD_DIR}}
    return yaml.safe_dump({"apiVersion": 1, "providers": [provider]}, sort_keys=True)


def manifests(args: MonitoringArgs) -> list[dict[str, Any]]:
    ns = args.settings.namespace
    config = {"datasources.yaml": _datasources(), "dashboards.yaml": _dashboard_provider()}
    dashboards = dashboard_files(DashboardContext(hub_namespace=args.hub_namespace))
    remote_write = (rw.spec(args.settings.remote_write, args.cluster_name)
                    if args.settings.remote_write is not None else None)
    pod = {
        "metadata": {"labels": o.labels(APP, "grafana"),
                     "annotations": {"eaf.fnal.gov/config-sha256": o.content_hash({**config, **dashboards})}},
        "spec": {
            "serviceAccountName": "grafana",
            "containers": [{
                "name": "grafana", "image": image("grafana"),
                "env": [{"name": "GF_SECURITY_ADMIN_USER", "value": "admin"},
                        {"name": "GF_SECURITY_ADMIN_PASSWORD",
                         "valueFrom": {"secretKeyRef": {"name": "grafana-admin", "key": "password"}}},
                        {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
                        {"name": "GF_SERVER_ROOT_URL", "value": f"https://{args.hostname}/"},
                        {"name": "GF_PATHS_PROVISIONING", "value": "/etc/grafana/provisioning"}],
                "ports": [{"name": "http", "containerPort": 3000, "protocol": "TCP"}],
                "resources": o.resources(args.settings.grafana),
                "readinessProbe": {"httpGet": {"path": "/api/health", "port": "http"}, "periodSeconds": 10},
                "securityContext": o.hardened(),
                "volumeMounts": [
                    {"name": "provisioning", "mountPath": "/etc/grafana/provisioning/datasources/datasources.yaml",
                     "subPath": "datasources.yaml", "readOnly": True},
                    {"name": "provisioning", "mountPath": "/etc/grafana/provisioning/dashboards/dashboards.yaml",
                     "subPath": "dashboards.yaml", "readOnly": True},
                    {"name": "dashboards", "mountPath": DASHBOARD_DIR, "readOnly": True},
                    {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
                    {"name": "service-ca", "mountPath": CA_DIR, "readOnly": True},
                    {"name": "data", "mountPath": "/var/lib/grafana"},
                ],
            }],
            "volumes": [{"name": "provisioning", "configMap": {"name": "grafana-provisioning"}},
                        {"name": "dashboards", "configMap": {"name": "grafana-dashboards"}},
                        {"name": "token", "secret": {"secretName": "grafana-thanos-token"}},
                        {"name": "service-ca", "configMap": {"name": "grafana-service-ca"}},
                        # Dashboards and data sources are code; the rest of Grafana's state may be lost.
                        {"name": "data", "emptyDir": {}}],
        },
    }
    return [
        o.namespace(ns, APP),
        cluster_monitoring_config(remote_write),
        *_remote_write_objects(args),
        o.service_account("grafana", ns, APP),
        o.binding("eaf-grafana-monitoring-view", None, APP, "ClusterRole", "cluster-monitoring-view",
                  [(ns, "grafana")]),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": o.metadata("grafana-thanos-token", ns, APP, "grafana",
                                annotations={"kubernetes.io/service-account.name": "grafana"})},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": o.metadata("grafana-admin", ns, APP,
                                                                                        "grafana"),
         "stringData": {"password": args.admin_password}},
        # OKD's service CA operator fills in the CA that signed the Thanos querier's serving certificate. No `data`
        # of ours: the operator's key is never ours to revert (and a server stores an empty map as none).
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": o.metadata("grafana-service-ca", ns, APP, "grafana",
                                annotations={"service.beta.openshift.io/inject-cabundle": "true"})},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("grafana-provisioning", ns, APP, "grafana"),
         "data": config},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("grafana-dashboards", ns, APP, "grafana"),
         "data": dashboards},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata("grafana", ns, APP, "grafana"),
         "spec": {"replicas": 1, "selector": {"matchLabels": o.selector(APP, "grafana")}, "template": pod}},
        o.service("grafana", ns, APP, "grafana", [("http", 3000, 3000)]),
        (exposure("grafana", ns, APP, args.hostname, "grafana", "http", args.cluster_domain, args.tls)
         if args.tls is not None else o.route("grafana", ns, APP, args.hostname, "grafana", "http")),
    ]


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None and context.credentials is not None
    settings: MonitoringSettings = context.apps.monitoring
    credential = (context.credentials.stack_secret(rw.CREDENTIAL_SECRET) if settings.remote_write is not None
                  else None)
    args = MonitoringArgs(settings, context.plan.domain, context.credentials.derived("grafana-admin"),
                          cluster_name=context.plan.cluster_name, hub_namespace=context.apps.jupyterhub.namespace,
                          remote_write_credential=credential, tls=context.apps.tls)
    namespace, *objects = manifests(args)
    url = f"https://{args.hostname}"
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)),
                    exports={"grafana": url}, outputs={"url": url})


DEFINITION = AppDefinition(key="monitoring", settings=MonitoringSettings,
                           description="user-workload monitoring + Grafana with dashboards as code",
                           component="Monitoring", build=build,
                           secrets=(SecretNeed(rw.CREDENTIAL_SECRET, "the lab's remote-write credential "
                                               "(eaf:apps.monitoring.remoteWrite is set)",
                                               "pulumi config set --secret eaf:monitoringRemoteWriteCredential -s "
                                               "{stack} < credential.txt",
                                               needed=lambda apps: apps.monitoring.remote_write is not None),))

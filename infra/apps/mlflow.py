"""MLflow tracking server with its PostgreSQL database and artifact store, reachable only through Keycloak login.

MLflow has no authentication of its own that speaks OIDC, so it listens on localhost inside its pod and an
oauth2-proxy sidecar in front of it lets in only users of the allowed VO groups of the Keycloak realm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.apps import objects as o
from infra.apps import postgres
from infra.apps.images import image
from infra.apps.kube import Kube, register_in_namespace
from infra.spec import apps as spec

APP = "mlflow"
CLIENT_ID = "mlflow"
PROXY_PORT = 4180
# The front door's own metrics (requests, logins); MLflow itself listens on localhost only.
METRICS_PORT = 44180
MLFLOW_PORT = 5000
ARTIFACTS = "/mlartifacts"
PROXY_COMPUTE = spec.Compute(cpu=spec.Range(request=0.05, limit=0.5), memory_gib=spec.Range(request=0.0625,
                                                                                           limit=0.25))


@dataclass(frozen=True)
class MlflowArgs:
    settings: spec.Mlflow
    cluster_domain: str
    issuer: str  # the Keycloak realm's issuer URL
    client_secret: pulumi.Input[str]
    cookie_secret: pulumi.Input[str]  # 32 characters
    db_password: pulumi.Input[str]
    monitoring: bool = False

    @property
    def hostname(self) -> str:
        return self.settings.hostname or f"mlflow.apps.{self.cluster_domain}"

    @property
    def redirect_uri(self) -> str:
        return f"https://{self.hostname}/oauth2/callback"


def _backend_uri(ns: str, password: pulumi.Input[str]) -> pulumi.Output[str]:
    where = postgres.url("mlflow-db", ns, "mlflow")
    return pulumi.Output.secret(pulumi.Output.from_input(password).apply(
        lambda secret: f"postgresql+psycopg2://mlflow:{secret}@{where}"))


def manifests(args: MlflowArgs) -> list[dict[str, Any]]:
    settings, ns = args.settings, args.settings.namespace
    hardened = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"}}
    proxy_args = ["--provider=keycloak-oidc", f"--oidc-issuer-url={args.issuer}", f"--client-id={CLIENT_ID}",
                  f"--redirect-url={args.redirect_uri}", f"--http-address=0.0.0.0:{PROXY_PORT}",
                  f"--upstream=http://127.0.0.1:{MLFLOW_PORT}", "--email-domain=*", "--reverse-proxy=true",
                  f"--metrics-address=0.0.0.0:{METRICS_PORT}", "--skip-provider-button=true",
                  "--pass-access-token=false", "--code-challenge-method=S256",
                  *[f"--allowed-group={group}" for group in settings.allowed_groups]]
    pod = {
        "metadata": {"labels": o.labels(APP, "mlflow")},
        "spec": {
            "containers": [
                {"name": "mlflow", "image": image("mlflow"),
                 "command": ["mlflow", "server", "--host", "127.0.0.1", "--port", str(MLFLOW_PORT),
                             "--serve-artifacts", "--artifacts-destination", ARTIFACTS],
                 "env": [{"name": "MLFLOW_BACKEND_STORE_URI",
                          "valueFrom": {"secretKeyRef": {"name": "mlflow-backend", "key": "uri"}}}],
                 "resources": o.resources(settings.compute), "securityContext": hardened,
                 "volumeMounts": [{"name": "artifacts", "mountPath": ARTIFACTS}]},
                {"name": "oauth2-proxy", "image": image("oauth2-proxy"), "args": proxy_args,
                 "env": [{"name": "OAUTH2_PROXY_CLIENT_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": "mlflow-oidc", "key": "client-secret"}}},
                         {"name": "OAUTH2_PROXY_COOKIE_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": "mlflow-oidc", "key": "cookie-secret"}}}],
                 "ports": [{"name": "http", "containerPort": PROXY_PORT, "protocol": "TCP"},
                           {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                 "readinessProbe": {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 10},
                 "resources": o.resources(PROXY_COMPUTE), "securityContext": hardened},
            ],
            "volumes": [{"name": "artifacts", "persistentVolumeClaim": {"claimName": "mlflow-artifacts"}}],
        },
    }
    return [
        o.namespace(ns, APP),
        *postgres.manifests("mlflow-db", ns, APP, "mlflow", "mlflow", args.db_password, settings.db_gib,
                            settings.db_storage_class),
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": o.metadata("mlflow-backend", ns, APP,
                                                                                        "mlflow"),
         "stringData": {"uri": _backend_uri(ns, args.db_password)}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": o.metadata("mlflow-oidc", ns, APP,
                                                                                        "mlflow"),
         "stringData": {"client-secret": args.client_secret, "cookie-secret": args.cookie_secret}},
        o.pvc("mlflow-artifacts", ns, APP, f"{settings.artifacts_gib}Gi", ["ReadWriteOnce"],
              settings.artifacts_storage_class),
        # Recreate: the artifact volume is ReadWriteOnce.
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata("mlflow", ns, APP, "mlflow"),
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": o.selector(APP, "mlflow")}, "template": pod}},
        o.service("mlflow", ns, APP, "mlflow", [("http", 80, PROXY_PORT), ("metrics", METRICS_PORT, METRICS_PORT)]),
        o.route("mlflow", ns, APP, args.hostname, "mlflow", "http"),
        *([o.service_monitor("mlflow", ns, APP, "mlflow", "metrics", "/metrics")] if args.monitoring else []),
    ]


class Mlflow(pulumi.ComponentResource):
    def __init__(self, name: str, args: MlflowArgs, kube: Kube, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:apps:Mlflow", name, None, opts)
        self.namespace, self.objects = register_in_namespace(manifests(args), kube, self)
        self.url = f"https://{args.hostname}"
        self.register_outputs({"url": self.url})

"""MLflow tracking server with its PostgreSQL database and artifact store, reachable only through Keycloak login.

MLflow has no authentication of its own that speaks OIDC, so it listens on localhost inside its pod and an
oauth2-proxy sidecar in front of it lets in only users of the allowed VO groups of the Keycloak realm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from infra.apps import keycloak, postgres, storage
from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, OidcClient
from infra.apps.exposure import TlsSettings, exposure
from infra.apps.images import image
from infra.spec.apps import AppSettings, Compute, Range, compute
from infra.spec.base import DnsLabel, DnsName
from infra.spec.errors import Problem

APP = "mlflow"
CLIENT_ID = "mlflow"
PROXY_PORT = 4180
# The front door's own metrics (requests, logins); MLflow itself listens on localhost only.
METRICS_PORT = 44180
MLFLOW_PORT = 5000
ARTIFACTS = "/mlartifacts"
PROXY_COMPUTE = Compute(cpu=Range(request=0.05, limit=0.5), memory_gib=Range(request=0.0625, limit=0.25))
CLIENT_SECRET_PURPOSE = "mlflow-oidc-client-secret"


class MlflowSettings(AppSettings):
    namespace: DnsLabel = "mlflow"
    hostname: DnsName | None = Field(None, description="default: mlflow.apps.<cluster domain>")
    allowed_groups: tuple[str, ...] = Field(("cms", "dune", "fife", "astro", "accel-ai"),
                                            description="VO groups allowed in (Keycloak groups from the IdP claim)")
    artifacts_gib: int = Field(200, alias="artifactsGiB", gt=0)
    artifacts_storage_class: str | None = None
    db_gib: int = Field(20, alias="dbGiB", gt=0)
    db_storage_class: str | None = None
    compute: Compute = compute((0.5, 2), (1, 4))


def hostname(settings: MlflowSettings, cluster_domain: str) -> str:
    return settings.hostname or f"mlflow.apps.{cluster_domain}"


def redirect_uri(settings: MlflowSettings, cluster_domain: str) -> str:
    return f"https://{hostname(settings, cluster_domain)}/oauth2/callback"


@dataclass(frozen=True)
class MlflowArgs:
    settings: MlflowSettings
    cluster_domain: str
    issuer: str  # the Keycloak realm's issuer URL
    client_secret: Any  # pulumi.Input[str]
    cookie_secret: Any  # 32 characters
    db_password: Any
    monitoring: bool = False
    tls: TlsSettings = TlsSettings()

    @property
    def hostname(self) -> str:
        return hostname(self.settings, self.cluster_domain)

    @property
    def redirect_uri(self) -> str:
        return redirect_uri(self.settings, self.cluster_domain)


def _backend_uri(ns: str, password: Any) -> Any:
    import pulumi

    where = postgres.url("mlflow-db", ns, "mlflow")
    return pulumi.Output.secret(pulumi.Output.from_input(password).apply(
        lambda secret: f"postgresql+psycopg2://mlflow:{secret}@{where}"))


def manifests(args: MlflowArgs) -> list[dict[str, Any]]:
    settings, ns = args.settings, args.settings.namespace
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
                 "resources": o.resources(settings.compute), "securityContext": o.hardened(),
                 "volumeMounts": [{"name": "artifacts", "mountPath": ARTIFACTS}]},
                {"name": "oauth2-proxy", "image": image("oauth2-proxy"), "args": proxy_args,
                 "env": [{"name": "OAUTH2_PROXY_CLIENT_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": "mlflow-oidc", "key": "client-secret"}}},
                         {"name": "OAUTH2_PROXY_COOKIE_SECRET",
                          "valueFrom": {"secretKeyRef": {"name": "mlflow-oidc", "key": "cookie-secret"}}}],
                 "ports": [{"name": "http", "containerPort": PROXY_PORT, "protocol": "TCP"},
                           {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                 "readinessProbe": {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 10},
                 "resources": o.resources(PROXY_COMPUTE), "securityContext": o.hardened()},
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
        exposure("mlflow", ns, APP, args.hostname, "mlflow", "http", args.cluster_domain, args.tls),
        *([o.service_monitor("mlflow", ns, APP, "mlflow", "metrics", "/metrics")] if args.monitoring else []),
    ]


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None and context.credentials is not None
    credentials, domain = context.credentials, context.plan.domain
    # Claims name their class: the app's setting, else the stack's default class (infra/apps/storage.py).
    mlflow = context.apps.mlflow
    settings = mlflow.model_copy(update={
        "db_storage_class": storage.class_for(context.apps, mlflow.db_storage_class),
        "artifacts_storage_class": storage.class_for(context.apps, mlflow.artifacts_storage_class)})
    args = MlflowArgs(settings, domain, keycloak.issuer(context.apps.keycloak, domain),
                      credentials.derived(CLIENT_SECRET_PURPOSE), credentials.derived("mlflow-cookie-secret", 32),
                      credentials.derived("mlflow-db"), context.apps.monitoring.enabled, context.apps.tls)
    namespace, *objects = manifests(args)
    url = f"https://{args.hostname}"
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)),
                    exports={"mlflow": url}, outputs={"url": url})


def oidc_clients(context: AppContext) -> tuple[OidcClient, ...]:
    assert context.plan is not None and context.credentials is not None
    return (OidcClient(CLIENT_ID, (redirect_uri(context.apps.mlflow, context.plan.domain),),
                       context.credentials.derived(CLIENT_SECRET_PURPOSE)),)


def problems(context: AppContext) -> list[Problem]:
    found = []
    if not context.apps.keycloak.enabled:
        found.append(Problem("eaf:apps.mlflow.enabled", True, "MLflow is reached only through Keycloak login",
                             "set eaf:apps.keycloak.enabled: true"))
    if context.catalog is not None:
        for group in context.apps.mlflow.allowed_groups:
            if group not in context.catalog.groups:
                found.append(Problem("eaf:apps.mlflow.allowedGroups", group, "unknown VO group",
                                     f"use one of: {', '.join(sorted(context.catalog.groups))}"))
    return found


DEFINITION = AppDefinition(
    key="mlflow", settings=MlflowSettings, description="MLflow tracking server behind Keycloak login",
    component="Mlflow", build=build, problems=problems, oidc_clients=oidc_clients)

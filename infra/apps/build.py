"""Build every enabled app's Args and manifests from the spec, without registering anything.

Used twice: by `load_spec` (through infra/apps/validate.py, with placeholder credentials) to check the manifests
before any resource of the stack exists, and by `deploy` to register them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pulumi

from infra.apps.catalog import load_catalog, offered_profiles
from infra.apps.credentials import JUPYTERHUB_OIDC_SECRET, KEYCLOAK_UPSTREAM_SECRET
from infra.plan.model import ClusterPlan
from infra.spec.apps import Apps, Profile

if TYPE_CHECKING:  # each app's module is imported only when that app is on
    from infra.apps.dask_gateway import DaskGatewayArgs
    from infra.apps.gpu_operator import GpuOperatorArgs
    from infra.apps.jupyterhub import JupyterHubArgs
    from infra.apps.keycloak import KeycloakArgs
    from infra.apps.mlflow import MlflowArgs
    from infra.apps.monitoring import MonitoringArgs
    from infra.apps.storage import StorageArgs
    from infra.apps.triton import TritonArgs


class Credentials(Protocol):
    def derived(self, purpose: str, length: int = 64) -> pulumi.Input[str]: ...

    def stack_secret(self, name: str) -> pulumi.Input[str]: ...


class PlaceholderCredentials:
    """For checking manifests: the checks never look at secret values."""

    def derived(self, purpose: str, length: int = 64) -> str:
        return f"placeholder-{purpose}"[:length]

    def stack_secret(self, name: str) -> str:
        return f"placeholder-{name}"


@dataclass
class AppsPlan:
    """The enabled apps' Args (None: the app is off) and all their manifests, built before anything is registered."""

    monitoring: MonitoringArgs | None = None
    gpu_operator: GpuOperatorArgs | None = None
    jupyterhub: JupyterHubArgs | None = None
    profiles: tuple[Profile, ...] = ()
    triton: TritonArgs | None = None
    dask_gateway: DaskGatewayArgs | None = None
    keycloak: KeycloakArgs | None = None
    mlflow: MlflowArgs | None = None
    storage: StorageArgs | None = None
    manifests: list[dict[str, Any]] = field(default_factory=list)


def _flat(built: list[dict[str, Any]] | dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [m for group in built.values() for m in group] if isinstance(built, dict) else list(built)


def build_apps(apps: Apps, cluster: ClusterPlan, credentials: Credentials) -> AppsPlan:
    domain = cluster.domain
    plan = AppsPlan()
    if apps.monitoring.enabled:
        from infra.apps import monitoring

        plan.monitoring = monitoring.MonitoringArgs(apps.monitoring, domain, credentials.derived("grafana-admin"))
        plan.manifests += monitoring.manifests(plan.monitoring)
    if apps.gpu_operator.enabled:
        from infra.apps import gpu_operator

        plan.gpu_operator = gpu_operator.GpuOperatorArgs(apps.gpu_operator, cluster, apps.monitoring.enabled)
        plan.manifests += _flat(gpu_operator.manifests(plan.gpu_operator))
    consumers: tuple[str, ...] = ()
    if apps.jupyterhub.enabled:
        from infra.apps import jupyterhub

        catalog, _ = load_catalog(apps.jupyterhub.catalog)
        assert catalog is not None  # load_spec refused the stack otherwise
        secrets = jupyterhub.HubSecrets(cookie_secret=credentials.derived("jupyterhub-cookie-secret"),
                                        proxy_token=credentials.derived("jupyterhub-proxy-token"),
                                        crypt_key=credentials.derived("jupyterhub-crypt-key"),
                                        oidc_client_secret=credentials.stack_secret(JUPYTERHUB_OIDC_SECRET))
        link = None
        if apps.dask_gateway.enabled:
            from infra.apps import dask_gateway

            # One token, registered by the hub as the gateway service's and used by the gateway to call the hub.
            gateway_token = credentials.derived("dask-gateway-hub-token")
            link = jupyterhub.DaskGatewayLink(dask_gateway.web_address(apps.dask_gateway),
                                              dask_gateway.scheduler_address(apps.dask_gateway), gateway_token)
            plan.dask_gateway = dask_gateway.DaskGatewayArgs(
                apps.dask_gateway, catalog.flavours[apps.dask_gateway.flavour], apps.storage,
                apps.jupyterhub.namespace, gateway_token, apps.monitoring.enabled)
            consumers += (apps.dask_gateway.namespace,)
            plan.manifests += _flat(dask_gateway.manifests(plan.dask_gateway))
        plan.jupyterhub = jupyterhub.JupyterHubArgs(apps.jupyterhub, apps.storage, catalog, domain,
                                                    apps.monitoring.enabled, secrets, link)
        plan.profiles = offered_profiles(catalog, apps.jupyterhub)
        plan.manifests += jupyterhub.manifests(plan.jupyterhub, plan.profiles)
        consumers += (apps.jupyterhub.namespace,)
    if apps.triton.enabled:
        from infra.apps import triton

        plan.triton = triton.TritonArgs(apps.triton, apps.monitoring.enabled)
        plan.manifests += _flat(triton.manifests(plan.triton))
    if apps.keycloak.enabled:
        _keycloak_and_mlflow(apps, domain, credentials, plan)
    if apps.storage.enabled:
        from infra.apps import storage

        plan.storage = storage.StorageArgs(apps.storage, tuple(sorted(consumers)))
        plan.manifests += storage.manifests(plan.storage)
    return plan




def _keycloak_and_mlflow(apps: Apps, domain: str, credentials: Credentials, plan: AppsPlan) -> None:
    from infra.apps import keycloak

    catalog, _ = load_catalog(apps.jupyterhub.catalog)
    assert catalog is not None  # load_spec refused the stack otherwise
    clients: tuple[keycloak.OidcClient, ...] = ()
    mlflow_secret = credentials.derived("mlflow-oidc-client-secret")
    if apps.mlflow.enabled:
        from infra.apps import mlflow

        hostname = apps.mlflow.hostname or f"mlflow.apps.{domain}"
        clients += (keycloak.OidcClient(mlflow.CLIENT_ID, (f"https://{hostname}/oauth2/callback",), mlflow_secret),)
    plan.keycloak = keycloak.KeycloakArgs(apps.keycloak, domain, tuple(sorted(catalog.groups)), clients,
                                          credentials.derived("keycloak-admin"), credentials.derived("keycloak-db"),
                                          credentials.stack_secret(KEYCLOAK_UPSTREAM_SECRET), apps.monitoring.enabled)
    plan.manifests += keycloak.manifests(plan.keycloak)
    if apps.mlflow.enabled:
        plan.mlflow = mlflow.MlflowArgs(apps.mlflow, domain, plan.keycloak.issuer, mlflow_secret,
                                        credentials.derived("mlflow-cookie-secret", 32),
                                        credentials.derived("mlflow-db"), apps.monitoring.enabled)
        plan.manifests += mlflow.manifests(plan.mlflow)

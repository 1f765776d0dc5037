"""Wire the enabled apps of one stack onto the installed cluster, in dependency order.

All manifests are built first and checked together (names, selectors, requests <= limits, namespaces); only then
is the first object registered, so a broken builder stops the program before anything reaches the cluster.
"""

from __future__ import annotations

import pulumi

from infra.apps.build import build_apps
from infra.apps.checks import manifest_problems
from infra.apps.credentials import AppCredentials
from infra.apps.kube import Kube
from infra.contracts import ClusterAccess
from infra.spec.errors import ConfigError
from infra.spec.load import LoadedStack


def _provider(loaded: LoadedStack, access: ClusterAccess) -> pulumi.ProviderResource:
    import pulumi_kubernetes as k8s

    # One provider for every app object; its kubeconfig stays a secret (it holds the cluster's admin credential).
    return k8s.Provider(f"{loaded.stack}-cluster", kubeconfig=access.kubeconfig)


def deploy(loaded: LoadedStack, access: ClusterAccess) -> None:
    if not any(getattr(app, "enabled", False) for _, app in loaded.spec.apps):
        pulumi.export("apps", {})
        return
    plan = build_apps(loaded.spec.apps, loaded.plan, AppCredentials())
    problems = manifest_problems(plan.manifests)
    if problems:
        raise ConfigError(loaded.stack, problems)

    kube = Kube(provider=_provider(loaded, access), ready=tuple(access.ready))
    exported: dict[str, object] = {}
    consumers: dict[str, pulumi.Resource] = {}
    if plan.monitoring is not None:
        from infra.apps.monitoring import Monitoring

        exported["grafana"] = Monitoring("monitoring", plan.monitoring, kube).url
    if plan.gpu_operator is not None:
        from infra.apps.gpu_operator import GpuOperator

        GpuOperator("gpu-operator", plan.gpu_operator, kube)
    if plan.jupyterhub is not None:
        from infra.apps.jupyterhub import JupyterHub

        hub = JupyterHub("jupyterhub", plan.jupyterhub, plan.profiles, kube)
        consumers[plan.jupyterhub.settings.namespace] = hub.namespace
        exported["jupyterhub"] = hub.url
    if plan.dask_gateway is not None:
        from infra.apps.dask_gateway import DaskGateway

        gateway = DaskGateway("dask-gateway", plan.dask_gateway, kube)
        consumers[plan.dask_gateway.settings.namespace] = gateway.namespace
        exported["daskGateway"] = gateway.address
    if plan.triton is not None:
        from infra.apps.triton import Triton

        exported["triton"] = Triton("triton", plan.triton, kube).endpoint
    if plan.keycloak is not None:
        from infra.apps.keycloak import Keycloak

        exported["keycloak"] = Keycloak("keycloak", plan.keycloak, kube).url
    if plan.mlflow is not None:
        from infra.apps.mlflow import Mlflow

        exported["mlflow"] = Mlflow("mlflow", plan.mlflow, kube).url
    if plan.storage is not None:
        from infra.apps.storage import Storage

        Storage("storage", plan.storage, kube, consumers)
    pulumi.export("apps", exported)

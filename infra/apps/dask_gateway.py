"""Dask Gateway from the upstream `dask-gateway` chart: authenticated through JupyterHub, per-group cluster limits,
dashboards only behind hub login.

The chart renders the gateway API server, its Kubernetes controller (DaskCluster objects -> scheduler/worker pods and
Traefik routes) and Traefik, the proxy of scheduler (TCP) and dashboard (HTTP) traffic; this module builds its values
from the typed settings. The kinds they use (gateway.dask.org DaskCluster, Traefik's traefik.io and
traefik.containo.us kinds) come from the chart's own `crds/` (Traefik's upstream definitions), unless
`installCrds: false` says the cluster already has them (a Traefik installed by someone else owns them).

The gateway has no Route: notebooks reach it in-cluster, and users open dashboards through their own JupyterHub
server (jupyter-server-proxy), so every dashboard is behind the hub's login. OKD: the chart's Traefik container has a
fixed UID 1000 in its template (no value unsets it), so its ServiceAccount is granted `nonroot-v2` (any non-root
UID); the gateway, the controller and the clusters' pods run under `restricted-v2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.charts import ChartRelease
from infra.apps.images import image_values
from infra.apps.render import python_literals, render
from infra.apps.storage import StorageSettings, flavour_mounts
from infra.spec.apps import AppSettings, Compute, Flavour, compute
from infra.spec.base import DnsLabel, Strict
from infra.spec.errors import Problem

APP = "dask-gateway"
CHART = "dask-gateway"
RELEASE = "dask-gateway"  # the chart names its objects api-<release>, controller-<release>, traefik-<release>
TRAEFIK = f"traefik-{RELEASE}"
WEB_PORT, TCP_PORT = 80, 8786
# OKD's ClusterRole that lets a ServiceAccount use the nonroot-v2 SCC (any UID but 0).
NONROOT_SCC_ROLE = "system:openshift:scc:nonroot-v2"
# One token, registered by the hub as the gateway service's and used by the gateway to call the hub.
HUB_TOKEN_PURPOSE = "dask-gateway-hub-token"


class GroupLimits(Strict):
    """What one user of a group may hold in one Dask cluster."""

    max_cores: float = Field(gt=0)
    max_memory_gib: float = Field(alias="maxMemoryGiB", gt=0)
    max_workers: int = Field(gt=0)


class DaskGatewaySettings(AppSettings):
    namespace: DnsLabel = "dask-gateway"
    flavour: DnsLabel = Field("coffea-dask", description="VO catalog flavour of schedulers and workers: its image, "
                                                       "CVMFS repositories and NFS areas")
    idle_timeout_minutes: int = Field(30, ge=1, description="shut down clusters without a client this long")
    scheduler: Compute = compute((0.5, 1), (2, 4))
    worker: Compute = compute((1, 2), (4, 8))
    default_limits: GroupLimits = Field(GroupLimits(max_cores=16, max_memory_gib=64, max_workers=8),
                                        description="for users in none of groupLimits' groups")
    group_limits: dict[str, GroupLimits] = Field(
        {"cms": GroupLimits(max_cores=200, max_memory_gib=800, max_workers=100),
         "accel-ai": GroupLimits(max_cores=64, max_memory_gib=256, max_workers=32)},
        description="per VO group (a user in several gets the largest)")
    install_crds: bool = Field(True, description="the chart's CRDs (DaskCluster, Traefik's kinds); false where "
                                                 "another Traefik installation owns Traefik's CRDs already")
    controller: Compute = compute((0.1, 0.5), (0.25, 1))
    api: Compute = compute((0.2, 1), (0.5, 2))
    proxy: Compute = compute((0.2, 1), (0.25, 1))


@dataclass(frozen=True)
class DaskGatewayArgs:
    settings: DaskGatewaySettings
    flavour: Flavour  # of schedulers and workers: image, CVMFS, NFS (as in the coffea-dask notebooks)
    flavour_image: str  # its key of versions.yaml apps.images
    storage: StorageSettings
    jupyterhub_namespace: str
    api_token: Any  # pulumi.Input[str]: the gateway's JupyterHub service token (the hub registers the same one)
    monitoring: bool


def web_address(settings: DaskGatewaySettings) -> str:
    return f"http://{TRAEFIK}.{settings.namespace}.svc:{WEB_PORT}"


def scheduler_address(settings: DaskGatewaySettings) -> str:
    return f"gateway://{TRAEFIK}.{settings.namespace}.svc:{TCP_PORT}"


def _gib(value: float) -> str:
    return f"{value:g} G"  # dask-gateway's memory traits read "4 G" as 4 GiB


def _limits(limits: GroupLimits) -> dict[str, Any]:
    return {"cluster_max_cores": limits.max_cores, "cluster_max_memory": _gib(limits.max_memory_gib),
            "cluster_max_workers": limits.max_workers}


def cluster_options_config(settings: DaskGatewaySettings) -> str:
    """gateway.extraConfig: the idle timeout, the per-group limits and the users' cluster options."""
    values = {
        "idle_timeout": settings.idle_timeout_minutes * 60,
        "group_limits": {group: _limits(limits) for group, limits in sorted(settings.group_limits.items())},
        "default_limits": _limits(settings.default_limits),
        "worker_cores": settings.worker.cpu.request,
        "worker_cores_max": settings.worker.cpu.limit,
        "worker_memory_gib": settings.worker.memory_gib.request,
        "worker_memory_gib_max": settings.worker.memory_gib.limit,
    }
    return render("dask_gateway_config.py.j2", python_literals(values))


def _size(size: Compute, mounts: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> dict[str, Any]:
    volumes, volume_mounts = mounts
    return {"cores": {"request": size.cpu.request, "limit": size.cpu.limit},
            "memory": {"request": _gib(size.memory_gib.request), "limit": _gib(size.memory_gib.limit)},
            # The flavour's CVMFS repositories and NFS areas, mounted in schedulers and workers as in the notebooks.
            "extraPodConfig": {"volumes": volumes}, "extraContainerConfig": {"volumeMounts": volume_mounts}}


def chart_values(args: DaskGatewayArgs) -> dict[str, Any]:
    """The dask-gateway chart's values, from the typed settings (the one place they are made)."""
    settings = args.settings
    mounts = flavour_mounts(args.flavour, args.storage) if args.storage.enabled else ([], [])
    return {
        "gateway": {
            "image": image_values("dask-gateway-server"),
            "resources": o.resources(settings.api),
            # Users log in to JupyterHub; the gateway checks their JupyterHub tokens and learns their groups.
            "auth": {"type": "jupyterhub", "jupyterhub": {
                "apiToken": args.api_token,
                "apiUrl": f"http://hub.{args.jupyterhub_namespace}.svc:8081/hub/api"}},
            "backend": {"image": image_values(args.flavour_image), "namespace": settings.namespace,
                        "scheduler": _size(settings.scheduler, mounts), "worker": _size(settings.worker, mounts)},
            "extraConfig": {"eaf-cluster-options": cluster_options_config(settings)},
        },
        "controller": {"image": image_values("dask-gateway-server"), "resources": o.resources(settings.controller)},
        "traefik": {"image": image_values("traefik"), "resources": o.resources(settings.proxy),
                    # In-cluster only (notebooks): no LoadBalancer; the scheduler TCP traffic on its own port.
                    "service": {"type": "ClusterIP", "ports": {"web": {"port": WEB_PORT}, "tcp": {"port": TCP_PORT}}}},
    }


def manifests(args: DaskGatewayArgs) -> list[dict[str, Any]]:
    """The stack's own objects beside the chart's, namespace first."""
    ns = args.settings.namespace
    objects = [
        o.namespace(ns, APP),
        # The chart's Traefik runs as UID 1000 (fixed in its template): nonroot-v2, for its ServiceAccount only.
        o.binding("traefik-nonroot-scc", ns, APP, "ClusterRole", NONROOT_SCC_ROLE, [(ns, TRAEFIK)]),
    ]
    if args.monitoring:
        objects.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
                        "metadata": o.metadata("api", ns, APP, "api"),
                        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": RELEASE,
                                                              "app.kubernetes.io/component": "gateway"}},
                                 "podMetricsEndpoints": [{"port": "api", "path": "/api/metrics",
                                                          "interval": "30s"}]}})
    return objects


def build(context: AppContext) -> AppBuild:
    assert context.credentials is not None and context.catalog is not None
    settings: DaskGatewaySettings = context.apps.dask_gateway
    flavour = context.catalog.flavours[settings.flavour]
    args = DaskGatewayArgs(settings, flavour, flavour.image, context.apps.storage, context.apps.jupyterhub.namespace,
                           context.credentials.derived(HUB_TOKEN_PURPOSE), context.apps.monitoring.enabled)
    namespace, *objects = manifests(args)
    release = ChartRelease(CHART, RELEASE, settings.namespace, chart_values(args),
                           skip_crds=not settings.install_crds)
    address = web_address(settings)
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)), charts=(release,),
                    exports={"daskGateway": address}, outputs={"address": address})


def problems(context: AppContext) -> list[Problem]:
    settings: DaskGatewaySettings = context.apps.dask_gateway
    if not context.apps.jupyterhub.enabled:
        return [Problem("eaf:apps.daskGateway.enabled", True, "Dask Gateway authenticates users through JupyterHub",
                        "set eaf:apps.jupyterhub.enabled: true, or turn the gateway off")]
    catalog = context.catalog
    if catalog is None:
        return []
    found = []
    if settings.flavour not in catalog.flavours:
        found.append(Problem("eaf:apps.daskGateway.flavour", settings.flavour, "no such flavour in the VO catalog",
                             f"use one of: {', '.join(sorted(catalog.flavours))}"))
    for group in sorted(settings.group_limits):
        if group not in catalog.groups:
            found.append(Problem(f"eaf:apps.daskGateway.groupLimits.{group}", group, "unknown VO group",
                                 f"use one of: {', '.join(sorted(catalog.groups))}"))
    return found


DEFINITION = AppDefinition(
    key="dask_gateway", settings=DaskGatewaySettings,
    description="Dask Gateway, authenticated by JupyterHub, per-group limits", component="DaskGateway",
    build=build, problems=problems, mounts_storage=True, charts=(CHART,))

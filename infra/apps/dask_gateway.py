"""Dask Gateway: authenticated through JupyterHub, per-group cluster limits, dashboards only behind hub login.

Pieces (our own manifests): the gateway API server, its Kubernetes controller (turns DaskCluster objects into
scheduler/worker pods and Traefik routes), and Traefik as the proxy for scheduler (TCP) and dashboard (HTTP)
traffic. The gateway has no Route: notebooks reach it in-cluster, and users open dashboards through their own
JupyterHub server (jupyter-server-proxy), so every dashboard is behind the hub's login.

The kinds the controller and Traefik use (gateway.dask.org DaskCluster; Traefik v2.9's traefik.containo.us kinds)
are defined here as our own CustomResourceDefinitions with open schemas: the objects in them are written and read
only by those two programs, and OKD has no operator that would install them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.images import image
from infra.apps.render import python_literals, render
from infra.apps.storage import StorageSettings, flavour_mounts
from infra.spec.apps import AppSettings, Compute, Flavour, compute
from infra.spec.base import DnsLabel, Strict
from infra.spec.errors import Problem

APP = "dask-gateway"
INSTANCE = "eaf-dask-gateway"
INSTANCE_LABEL = "gateway.dask.org/instance"
# (group, kind, plural) of every kind the controller and Traefik v2.9's CRD provider list and watch.
CUSTOM_KINDS = (
    ("gateway.dask.org", "DaskCluster", "daskclusters"),
    ("traefik.containo.us", "IngressRoute", "ingressroutes"),
    ("traefik.containo.us", "IngressRouteTCP", "ingressroutetcps"),
    ("traefik.containo.us", "IngressRouteUDP", "ingressrouteudps"),
    ("traefik.containo.us", "Middleware", "middlewares"),
    ("traefik.containo.us", "MiddlewareTCP", "middlewaretcps"),
    ("traefik.containo.us", "ServersTransport", "serverstransports"),
    ("traefik.containo.us", "TLSOption", "tlsoptions"),
    ("traefik.containo.us", "TLSStore", "tlsstores"),
    ("traefik.containo.us", "TraefikService", "traefikservices"),
)
WEB_PORT, TCP_PORT = 80, 8786
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
    controller: Compute = compute((0.1, 0.5), (0.25, 1))
    api: Compute = compute((0.2, 1), (0.5, 2))
    proxy: Compute = compute((0.2, 1), (0.25, 1))


@dataclass(frozen=True)
class DaskGatewayArgs:
    settings: DaskGatewaySettings
    flavour: Flavour  # of schedulers and workers: image, CVMFS, NFS (as in the coffea-dask notebooks)
    storage: StorageSettings
    jupyterhub_namespace: str
    api_token: Any  # pulumi.Input[str]: the gateway's JupyterHub service token (the hub registers the same one)
    monitoring: bool


def web_address(settings: DaskGatewaySettings) -> str:
    return f"http://traefik.{settings.namespace}.svc:{WEB_PORT}"


def scheduler_address(settings: DaskGatewaySettings) -> str:
    return f"gateway://traefik.{settings.namespace}.svc:{TCP_PORT}"


def custom_resource_definition(group: str, kind: str, plural: str) -> dict[str, Any]:
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    version: dict[str, Any] = {"name": "v1alpha1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": open_object, "status": open_object}}}}
    if kind == "DaskCluster":
        version["subresources"] = {"status": {}}  # the controller writes status through the subresource
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": o.metadata(f"{plural}.{group}", None, APP, "crd"),
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [version]}}


def _gib(value: float) -> str:
    return f"{value:g} G"  # dask-gateway's memory traits read "4 G" as 4 GiB


def _limits(limits: GroupLimits) -> dict[str, Any]:
    return {"cluster_max_cores": limits.max_cores, "cluster_max_memory": _gib(limits.max_memory_gib),
            "cluster_max_workers": limits.max_workers}


def gateway_config(args: DaskGatewayArgs) -> str:
    settings = args.settings
    volumes, mounts = flavour_mounts(args.flavour, args.storage) if args.storage.enabled else ([], [])
    values = {
        "api_url": f"http://api.{settings.namespace}.svc:8000/api",
        "instance": INSTANCE,
        "namespace": settings.namespace,
        "jupyterhub_api_url": f"http://hub.{args.jupyterhub_namespace}.svc:8081/hub/api",
        "image": image(args.flavour.image),
        "extra_pod_config": {"volumes": volumes},
        "extra_container_config": {"volumeMounts": mounts},
        "scheduler_cores": settings.scheduler.cpu.request,
        "scheduler_cores_limit": settings.scheduler.cpu.limit,
        "scheduler_memory": _gib(settings.scheduler.memory_gib.request),
        "scheduler_memory_limit": _gib(settings.scheduler.memory_gib.limit),
        "worker_cores_limit": settings.worker.cpu.limit,
        "worker_memory_limit": _gib(settings.worker.memory_gib.limit),
        "idle_timeout": settings.idle_timeout_minutes * 60,
        "group_limits": {group: _limits(limits) for group, limits in sorted(settings.group_limits.items())},
        "default_limits": _limits(settings.default_limits),
        "worker_cores": settings.worker.cpu.request,
        "worker_cores_max": settings.worker.cpu.limit,
        "worker_memory_gib": settings.worker.memory_gib.request,
        "worker_memory_gib_max": settings.worker.memory_gib.limit,
    }
    return render("dask_gateway_config.py.j2", python_literals(values))


def controller_config(settings: DaskGatewaySettings) -> str:
    return render("dask_controller_config.py.j2", python_literals(
        {"api_url": f"http://api.{settings.namespace}.svc:8000/api", "instance": INSTANCE}))


def _server_pod(component: str, command: list[str], config_map: str, data: dict[str, str], size: Compute,
                env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"labels": o.labels(APP, component),
                     "annotations": {"eaf.fnal.gov/config-sha256": o.content_hash(data)}},
        "spec": {
            "serviceAccountName": component,
            "containers": [{
                "name": component, "image": image("dask-gateway-server"), "command": command, "env": env,
                "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
                "resources": o.resources(size), "securityContext": o.hardened(),
                "volumeMounts": [{"name": "config", "mountPath": "/etc/dask-gateway", "readOnly": True}],
            }],
            "volumes": [{"name": "config", "configMap": {"name": config_map}}],
        },
    }


def _deployment(name: str, ns: str, pod: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata(name, ns, APP, name),
            "spec": {"replicas": 1, "selector": {"matchLabels": o.selector(APP, name)}, "template": pod}}


def _traefik_pod(settings: DaskGatewaySettings) -> dict[str, Any]:
    return {
        "metadata": {"labels": o.labels(APP, "traefik")},
        "spec": {
            "serviceAccountName": "traefik",
            "containers": [{
                "name": "traefik", "image": image("traefik"),
                "args": ["--global.checknewversion=false", "--global.sendanonymoususage=false", "--ping=true",
                         "--providers.kubernetescrd",
                         f"--providers.kubernetescrd.namespaces={settings.namespace}",
                         f"--providers.kubernetescrd.labelselector={INSTANCE_LABEL}={INSTANCE}",
                         "--entrypoints.traefik.address=:9000", "--entrypoints.web.address=:8000",
                         f"--entrypoints.tcp.address=:{TCP_PORT}"],
                "ports": [{"name": "traefik", "containerPort": 9000, "protocol": "TCP"},
                          {"name": "web", "containerPort": 8000, "protocol": "TCP"},
                          {"name": "tcp", "containerPort": TCP_PORT, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/ping", "port": "traefik"}, "periodSeconds": 10},
                "resources": o.resources(settings.proxy), "securityContext": o.hardened(),
            }],
        },
    }


def manifests(args: DaskGatewayArgs) -> dict[str, list[dict[str, Any]]]:
    settings = args.settings
    ns = settings.namespace
    gateway_data = {"dask_gateway_config.py": gateway_config(args)}
    controller_data = {"controller_config.py": controller_config(settings)}
    token_env = [{"name": "JUPYTERHUB_API_TOKEN",
                  "valueFrom": {"secretKeyRef": {"name": "dask-gateway-hub-token", "key": "token"}}}]
    route_meta = o.metadata("api", ns, APP, "api")
    route_meta["labels"][INSTANCE_LABEL] = INSTANCE
    workloads = [
        o.service_account("api", ns, APP), o.service_account("controller", ns, APP),
        o.service_account("traefik", ns, APP),
        # The API server and the controller list and watch cluster-wide (their informers use the all-namespaces
        # calls), so reading is a ClusterRole; every change stays confined to this namespace by a Role.
        o.role("eaf-dask-gateway-api", None, APP, [o.rule(["gateway.dask.org"], ["daskclusters"],
                                                          ["get", "list", "watch"])]),
        o.binding("eaf-dask-gateway-api", None, APP, "ClusterRole", "eaf-dask-gateway-api", [(ns, "api")]),
        o.role("api", ns, APP, [o.rule(["gateway.dask.org"], ["daskclusters"], ["create", "delete", "patch"]),
                                o.rule([""], ["secrets"], ["get"])]),
        o.binding("api", ns, APP, "Role", "api", [(ns, "api")]),
        o.role("eaf-dask-gateway-controller", None, APP, [
            o.rule(["gateway.dask.org"], ["daskclusters"], ["get", "list", "watch"]),
            o.rule([""], ["pods", "endpoints"], ["get", "list", "watch"]),
        ]),
        o.binding("eaf-dask-gateway-controller", None, APP, "ClusterRole", "eaf-dask-gateway-controller",
                  [(ns, "controller")]),
        o.role("controller", ns, APP, [
            o.rule(["gateway.dask.org"], ["daskclusters"], ["patch", "update", "delete"]),
            o.rule(["gateway.dask.org"], ["daskclusters/status"], ["get", "patch", "update"]),
            o.rule(["traefik.containo.us"], ["ingressroutes", "ingressroutetcps"],
                   ["get", "list", "watch", "create", "delete", "patch"]),
            o.rule([""], ["pods", "services", "secrets"], ["get", "create", "delete", "patch"]),
        ]),
        o.binding("controller", ns, APP, "Role", "controller", [(ns, "controller")]),
        o.role("traefik", ns, APP, [
            o.rule([""], ["services", "endpoints", "secrets"], ["get", "list", "watch"]),
            o.rule(["traefik.containo.us"],
                   [plural for group, _, plural in CUSTOM_KINDS if group == "traefik.containo.us"],
                   ["get", "list", "watch"]),
        ]),
        o.binding("traefik", ns, APP, "Role", "traefik", [(ns, "traefik")]),
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": o.metadata("dask-gateway-hub-token", ns, APP, "api"), "stringData": {"token": args.api_token}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("api", ns, APP, "api"),
         "data": gateway_data},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("controller", ns, APP, "controller"),
         "data": controller_data},
        _deployment("api", ns, _server_pod("api", ["dask-gateway-server", "--config",
                                                   "/etc/dask-gateway/dask_gateway_config.py"],
                                           "api", gateway_data, settings.api, token_env)),
        _deployment("controller", ns, _server_pod("controller", ["dask-gateway-server", "kube-controller",
                                                                 "--config", "/etc/dask-gateway/controller_config.py"],
                                                  "controller", controller_data, settings.controller, [])),
        _deployment("traefik", ns, _traefik_pod(settings)),
        o.service("api", ns, APP, "api", [("http", 8000, 8000)]),
        o.service("traefik", ns, APP, "traefik", [("web", WEB_PORT, 8000), ("tcp", TCP_PORT, TCP_PORT)]),
    ]
    routes = [{"apiVersion": "traefik.containo.us/v1alpha1", "kind": "IngressRoute", "metadata": route_meta,
               "spec": {"entryPoints": ["web"],
                        "routes": [{"kind": "Rule", "match": "PathPrefix(`/api`)",
                                    "services": [{"name": "api", "port": 8000}]}]}}]
    if args.monitoring:
        workloads.append(o.service_monitor("api", ns, APP, "api", "http", "/api/metrics"))
    return {"namespaces": [o.namespace(ns, APP)],
            "definitions": [custom_resource_definition(*kind) for kind in CUSTOM_KINDS],
            "workloads": workloads, "routes": routes}


def build(context: AppContext) -> AppBuild:
    assert context.credentials is not None and context.catalog is not None
    settings: DaskGatewaySettings = context.apps.dask_gateway
    args = DaskGatewayArgs(settings, context.catalog.flavours[settings.flavour], context.apps.storage,
                           context.apps.jupyterhub.namespace, context.credentials.derived(HUB_TOKEN_PURPOSE),
                           context.apps.monitoring.enabled)
    groups = manifests(args)
    address = web_address(settings)
    # The API server and controller watch DaskClusters, Traefik its kinds: the definitions come first.
    return AppBuild((ObjectGroup("namespaces", groups["namespaces"]),
                     ObjectGroup("definitions", groups["definitions"]),
                     ObjectGroup("workloads", groups["workloads"], after=("definitions",)),
                     ObjectGroup("routes", groups["routes"], after=("definitions",))),
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
    build=build, problems=problems, mounts_storage=True)

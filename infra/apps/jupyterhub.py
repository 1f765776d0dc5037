"""JupyterHub (z2jh-like, our own manifests): hub + configurable-http-proxy, OIDC login, the VO server catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.apps import objects as o
from infra.apps.images import image
from infra.apps.kube import Kube, register_in_namespace
from infra.apps.render import python_literals, render
from infra.apps.storage import flavour_mounts
from infra.spec import apps as spec

APP = "jupyterhub"
CONFIG_DIR = "/usr/local/etc/jupyterhub"
HOME_MOUNT = "/home/jovyan"
SCRATCH_MOUNT = "/scratch"
HOME_CLAIM = "claim-{username}"  # one home per user, shared by the user's named servers (KubeSpawner expands it)
SECRET_NAME = "hub-secrets"


@dataclass(frozen=True)
class HubSecrets:
    cookie_secret: pulumi.Input[str]  # 64 hex digits
    proxy_token: pulumi.Input[str]
    crypt_key: pulumi.Input[str]  # 64 hex digits: encrypts auth_state (the user's groups) in the hub database
    oidc_client_secret: pulumi.Input[str]


@dataclass(frozen=True)
class DaskGatewayLink:
    """How notebooks and the hub meet the Dask Gateway (when it is on)."""

    web_address: str  # http://<traefik service>:<port>, in-cluster only
    scheduler_address: str  # gateway://<traefik service>:<tcp port>
    api_token: pulumi.Input[str]  # the gateway's JupyterHub service token


@dataclass(frozen=True)
class JupyterHubArgs:
    settings: spec.JupyterHub
    storage: spec.Storage
    catalog: spec.VoCatalog
    cluster_domain: str
    monitoring: bool
    secrets: HubSecrets
    dask_gateway: DaskGatewayLink | None = None

    @property
    def hostname(self) -> str:
        return self.settings.hostname or f"jupyter.apps.{self.cluster_domain}"


def _oidc_endpoints(oidc: spec.Oidc) -> dict[str, str]:
    """PingFederate's endpoint paths (the lab's SSO) below the issuer."""
    base = oidc.issuer.rstrip("/")
    return {"authorize_url": f"{base}/as/authorization.oauth2", "token_url": f"{base}/as/token.oauth2",
            "userdata_url": f"{base}/idp/userinfo.openid"}


def _volumes(profile: spec.Profile, flavour: spec.Flavour, args: JupyterHubArgs
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volume mounts) of one server option: home, the flavour's CVMFS and NFS areas, GPU scratch."""
    volumes: list[dict[str, Any]] = [{"name": "home", "persistentVolumeClaim": {"claimName": HOME_CLAIM}}]
    mounts: list[dict[str, Any]] = [{"name": "home", "mountPath": HOME_MOUNT}]
    shared_volumes, shared_mounts = flavour_mounts(flavour, args.storage)
    volumes += shared_volumes
    mounts += shared_mounts
    if profile.mig_profile is not None:
        # Scratch lives and dies with the server pod (a generic ephemeral volume), so it never fills up for good.
        claim_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                      "resources": {"requests": {"storage": f"{args.settings.gpu_scratch_gib}Gi"}}}
        if args.settings.scratch_storage_class:
            claim_spec["storageClassName"] = args.settings.scratch_storage_class
        volumes.append({"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": claim_spec}}})
        mounts.append({"name": "scratch", "mountPath": SCRATCH_MOUNT})
    return volumes, mounts


def profile_entries(args: JupyterHubArgs, profiles: tuple[spec.Profile, ...]) -> list[dict[str, Any]]:
    """KubeSpawner's profile_list, with each entry's `groups` (removed by the hub's per-user filter)."""
    entries = []
    for profile in profiles:
        flavour = args.catalog.flavours[profile.flavour]
        volumes, mounts = _volumes(profile, flavour, args)
        override: dict[str, Any] = {
            "image": image(flavour.image),
            "cpu_guarantee": profile.compute.cpu.request,
            "cpu_limit": profile.compute.cpu.limit,
            # KubeSpawner's byte units are binary (M = MiB).
            "mem_guarantee": f"{round(profile.compute.memory_gib.request * 1024)}M",
            "mem_limit": f"{round(profile.compute.memory_gib.limit * 1024)}M",
            "volumes": volumes,
            "volume_mounts": mounts,
        }
        if profile.mig_profile is not None:
            slice_resource = {o.mig_resource(profile.mig_profile): "1"}
            override["extra_resource_guarantees"] = slice_resource
            override["extra_resource_limits"] = slice_resource
        entries.append({
            "slug": profile.slug,
            "display_name": profile.display_name,
            "description": profile.description or flavour.display_name,
            "default": profile.default,
            "groups": sorted(profile.groups),
            "kubespawner_override": override,
        })
    return entries


def config_py(args: JupyterHubArgs) -> str:
    hub = args.settings
    assert hub.oidc is not None  # validated by infra/apps/validate.py
    culler = hub.culler
    culler_args = ["--url=http://localhost:8081/hub/api", f"--timeout={culler.timeout_minutes * 60}",
                   f"--cull-every={culler.every_minutes * 60}", "--concurrency=10"]
    if culler.max_age_hours:
        culler_args.append(f"--max-age={culler.max_age_hours * 3600}")
    services: list[dict[str, Any]] = [
        {"name": "idle-culler", "command": ["python3", "-m", "jupyterhub_idle_culler", *culler_args]}]
    roles: list[dict[str, Any]] = [
        {"name": "idle-culler", "services": ["idle-culler"],
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}]
    token_variables: dict[str, str] = {}
    environment: dict[str, str] = {}
    if args.dask_gateway is not None:
        gateway = args.dask_gateway
        # The gateway resolves users' tokens with its own (/authorizations/token), which yields the token owner's
        # name and groups by itself: the service needs no role, so it gets no scope at all.
        services.append({"name": "dask-gateway", "display": False})
        token_variables["dask-gateway"] = "DASK_GATEWAY_API_TOKEN"
        # Dashboards are reached through the user's own server (jupyter-server-proxy), i.e. behind hub login;
        # the gateway itself has no Route.
        host = gateway.web_address.removeprefix("http://")
        environment = {"DASK_GATEWAY__ADDRESS": gateway.web_address,
                       "DASK_GATEWAY__PROXY_ADDRESS": gateway.scheduler_address,
                       "DASK_GATEWAY__PUBLIC_ADDRESS": f"/user/{{username}}/proxy/{host}",
                       "DASK_GATEWAY__AUTH__TYPE": "jupyterhub"}
    values = {
        "hub_connect_url": f"http://hub.{hub.namespace}.svc:8081",
        "proxy_api_url": f"http://proxy-api.{hub.namespace}.svc:8001",
        "oidc_client_id": hub.oidc.client_id,
        "oauth_callback_url": f"https://{args.hostname}/hub/oauth_callback",
        **_oidc_endpoints(hub.oidc),
        "scopes": list(hub.oidc.scopes),
        "username_claim": hub.oidc.username_claim,
        "groups_key": f"oauth_user.{hub.oidc.groups_claim}",
        "allowed_groups": sorted(args.catalog.groups),
        "admin_groups": sorted(hub.admin_groups),
        "named_server_limit": hub.named_servers_per_user,
        "common_labels": o.labels(APP, "singleuser-server"),
        "home_claim": HOME_CLAIM,
        "home_size": f"{hub.home_gib}Gi",
        "home_access_modes": [hub.home_access_mode],
        "home_storage_class": hub.home_storage_class,
        "services": services,
        "roles": roles,
        "service_token_variables": token_variables,
        "singleuser_environment": environment,
    }
    return render("jupyterhub_config.py.j2", python_literals(values))


def manifests(args: JupyterHubArgs, profiles: tuple[spec.Profile, ...]) -> list[dict[str, Any]]:
    """Every object of the hub, namespace first."""
    hub, ns = args.settings, args.settings.namespace
    config_data = {"jupyterhub_config.py": config_py(args),
                   "profiles.json": json.dumps(profile_entries(args, profiles), indent=1, sort_keys=True) + "\n"}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": o.metadata(SECRET_NAME, ns, APP, "hub"),
              "type": "Opaque",
              "stringData": {"JPY_COOKIE_SECRET": args.secrets.cookie_secret,
                             "CONFIGPROXY_AUTH_TOKEN": args.secrets.proxy_token,
                             "JUPYTERHUB_CRYPT_KEY": args.secrets.crypt_key,
                             "OAUTH_CLIENT_SECRET": args.secrets.oidc_client_secret,
                             **({"DASK_GATEWAY_API_TOKEN": args.dask_gateway.api_token} if args.dask_gateway else {})}}
    hardened = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"}}
    hub_pod = {
        "metadata": {"labels": o.labels(APP, "hub"),
                     "annotations": {"eaf.fnal.gov/config-sha256": o.content_hash(config_data)}},
        "spec": {
            "serviceAccountName": "hub",
            "containers": [{
                "name": "hub", "image": image("jupyterhub-hub"),
                "command": ["jupyterhub", "--config", f"{CONFIG_DIR}/jupyterhub_config.py"],
                "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                "envFrom": [{"secretRef": {"name": SECRET_NAME}}],
                "ports": [{"name": "http", "containerPort": 8081, "protocol": "TCP"}],
                "resources": o.resources(hub.hub),
                "readinessProbe": {"httpGet": {"path": "/hub/health", "port": "http"}, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": "/hub/health", "port": "http"}, "initialDelaySeconds": 60,
                                  "periodSeconds": 20, "failureThreshold": 5},
                "securityContext": hardened,
                "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                 {"name": "db", "mountPath": "/srv/jupyterhub"}],
            }],
            "volumes": [{"name": "config", "configMap": {"name": "hub-config"}},
                        {"name": "db", "persistentVolumeClaim": {"claimName": "hub-db"}}],
        },
    }
    proxy_pod = {
        "metadata": {"labels": o.labels(APP, "proxy")},
        "spec": {"containers": [{
            "name": "chp", "image": image("configurable-http-proxy"),
            "command": ["configurable-http-proxy", "--ip=", "--api-ip=", "--api-port=8001", "--port=8000",
                        f"--default-target=http://hub.{ns}.svc:8081",
                        f"--error-target=http://hub.{ns}.svc:8081/hub/error"],
            "env": [{"name": "CONFIGPROXY_AUTH_TOKEN",
                     "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "CONFIGPROXY_AUTH_TOKEN"}}}],
            "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"},
                      {"name": "api", "containerPort": 8001, "protocol": "TCP"}],
            "resources": o.resources(hub.proxy),
            "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 10},
            "securityContext": hardened,
        }]},
    }
    objects = [
        o.namespace(ns, APP),
        o.service_account("hub", ns, APP),
        o.role("hub", ns, APP, [
            o.rule([""], ["pods", "persistentvolumeclaims"], ["get", "watch", "list", "create", "delete"]),
            o.rule([""], ["events"], ["get", "watch", "list"]),
        ]),
        o.binding("hub", ns, APP, "Role", "hub", [(ns, "hub")]),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("hub-config", ns, APP, "hub"),
         "data": config_data},
        secret,
        o.pvc("hub-db", ns, APP, f"{hub.hub_db_gib}Gi", ["ReadWriteOnce"], hub.home_storage_class),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata("hub", ns, APP, "hub"),
         # Recreate: the SQLite database is on a ReadWriteOnce volume, one hub at a time.
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": o.selector(APP, "hub")}, "template": hub_pod}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata("proxy", ns, APP, "proxy"),
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": o.selector(APP, "proxy")}, "template": proxy_pod}},
        o.service("hub", ns, APP, "hub", [("http", 8081, 8081)]),
        o.service("proxy-api", ns, APP, "proxy", [("api", 8001, 8001)]),
        o.service("proxy-public", ns, APP, "proxy", [("http", 80, 8000)]),
        o.route("jupyterhub", ns, APP, args.hostname, "proxy-public", "http",
                # Notebook websockets stay open for long; the router's default 30 s would cut them.
                {"haproxy.router.openshift.io/timeout": "3600s"}),
    ]
    if args.monitoring:
        objects.append(o.service_monitor("hub", ns, APP, "hub", "http", "/hub/metrics"))
    return objects


class JupyterHub(pulumi.ComponentResource):
    """The hub of one cluster: every object in its namespace, the namespace created first."""

    def __init__(self, name: str, args: JupyterHubArgs, profiles: tuple[spec.Profile, ...], kube: Kube,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:apps:JupyterHub", name, None, opts)
        self.namespace, self.objects = register_in_namespace(manifests(args, profiles), kube, self)
        self.url = f"https://{args.hostname}"
        self.register_outputs({"url": self.url, "namespace": args.settings.namespace})

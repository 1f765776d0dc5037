"""JupyterHub (z2jh-like, our own manifests): hub + configurable-http-proxy, OIDC login, the VO server catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from infra.apps import dask_gateway, htcondor, images
from infra.apps import objects as o
from infra.apps.alert_rules import prometheus_rules
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, SecretNeed
from infra.apps.catalog import offered_profiles
from infra.apps.credentials import JUPYTERHUB_OIDC_SECRET
from infra.apps.gpu_operator import offered_mig_slices, unoffered_slice_fix
from infra.apps.images import image
from infra.apps.render import python_literals, render
from infra.apps.storage import StorageSettings, flavour_mounts
from infra.spec.apps import AppSettings, Compute, Flavour, Oidc, Profile, VoCatalog, compute
from infra.spec.base import DnsLabel, DnsName, Strict
from infra.spec.errors import Problem

APP = "jupyterhub"
CONFIG_DIR = "/usr/local/etc/jupyterhub"
HOME_MOUNT = "/home/jovyan"
SCRATCH_MOUNT = "/scratch"
HOME_CLAIM = "claim-{username}"  # one home per user, shared by the user's named servers (KubeSpawner expands it)
SECRET_NAME = "hub-secrets"


class Culler(Strict):
    timeout_minutes: int = Field(60, ge=5, description="stop servers idle this long")
    every_minutes: int = Field(10, ge=1)
    max_age_hours: int = Field(0, ge=0, description="stop servers after this age even if busy; 0: never")


class JupyterHubSettings(AppSettings):
    namespace: DnsLabel = "jupyterhub"
    hostname: DnsName | None = Field(None, description="default: jupyter.apps.<cluster domain>")
    oidc: Oidc | None = Field(None, description="required when enabled")
    admin_groups: tuple[str, ...] = ("eaf-admins",)
    catalog: str = Field("vo-catalog.yaml", description="file in infra/data/apps with groups, flavours, profiles")
    extra_profiles: tuple[Profile, ...] = Field((), description="profiles this stack adds to the catalog's")
    named_servers_per_user: int = Field(4, ge=1, le=10)
    home_gib: int = Field(25, alias="homeGiB", gt=0, description="persistent home, shared by a user's servers")
    home_storage_class: str | None = Field(None, description="default: the cluster's default StorageClass")
    home_access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = Field(
        "ReadWriteMany", description="ReadWriteMany lets a user's named servers share the home on any node")
    gpu_scratch_gib: int = Field(40, alias="gpuScratchGiB", gt=0, description="per-server scratch of GPU servers")
    scratch_storage_class: str | None = None
    culler: Culler = Culler()
    hub: Compute = compute((0.5, 2), (1, 4))
    proxy: Compute = compute((0.2, 1), (0.25, 1))
    hub_db_gib: int = Field(1, alias="hubDbGiB", gt=0)


@dataclass(frozen=True)
class HubSecrets:
    cookie_secret: Any  # pulumi.Input[str], 64 hex digits
    proxy_token: Any
    crypt_key: Any  # 64 hex digits: encrypts auth_state (the user's groups) in the hub database
    oidc_client_secret: Any


@dataclass(frozen=True)
class DaskGatewayLink:
    """How notebooks and the hub meet the Dask Gateway (when it is on)."""

    web_address: str  # http://<traefik service>:<port>, in-cluster only
    scheduler_address: str  # gateway://<traefik service>:<tcp port>
    api_token: Any  # pulumi.Input[str]: the gateway's JupyterHub service token


@dataclass(frozen=True)
class JupyterHubArgs:
    settings: JupyterHubSettings
    storage: StorageSettings
    catalog: VoCatalog
    cluster_domain: str
    monitoring: bool
    secrets: HubSecrets
    dask_gateway: DaskGatewayLink | None = None
    htcondor: bool = False  # eaf:apps.htcondor is on: profiles that name a pool mount its client config

    @property
    def hostname(self) -> str:
        return self.settings.hostname or f"jupyter.apps.{self.cluster_domain}"


def _oidc_endpoints(oidc: Oidc) -> dict[str, str]:
    """PingFederate's endpoint paths (the lab's SSO) below the issuer."""
    base = oidc.issuer.rstrip("/")
    return {"authorize_url": f"{base}/as/authorization.oauth2", "token_url": f"{base}/as/token.oauth2",
            "userdata_url": f"{base}/idp/userinfo.openid"}


def _volumes(profile: Profile, flavour: Flavour, args: JupyterHubArgs
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
    if args.htcondor and profile.htcondor_pool is not None:
        condor_volumes, condor_mounts, _ = htcondor.server_mounts(profile.htcondor_pool)
        volumes += condor_volumes
        mounts += condor_mounts
    return volumes, mounts


def profile_entries(args: JupyterHubArgs, profiles: tuple[Profile, ...]) -> list[dict[str, Any]]:
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
        if args.htcondor and profile.htcondor_pool is not None:
            override["environment"] = htcondor.server_mounts(profile.htcondor_pool)[2]
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


def manifests(args: JupyterHubArgs, profiles: tuple[Profile, ...]) -> list[dict[str, Any]]:
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
                "securityContext": o.hardened(),
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
            "securityContext": o.hardened(),
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
        objects += prometheus_rules("jupyterhub", ns, APP)
    return objects


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None and context.credentials is not None and context.catalog is not None
    credentials, hub = context.credentials, context.apps.jupyterhub
    secrets = HubSecrets(cookie_secret=credentials.derived("jupyterhub-cookie-secret"),
                         proxy_token=credentials.derived("jupyterhub-proxy-token"),
                         crypt_key=credentials.derived("jupyterhub-crypt-key"),
                         oidc_client_secret=credentials.stack_secret(JUPYTERHUB_OIDC_SECRET))
    gateway = context.apps.dask_gateway
    link = DaskGatewayLink(dask_gateway.web_address(gateway), dask_gateway.scheduler_address(gateway),
                           credentials.derived(dask_gateway.HUB_TOKEN_PURPOSE)) if gateway.enabled else None
    args = JupyterHubArgs(hub, context.apps.storage, context.catalog, context.plan.domain,
                          context.apps.monitoring.enabled, secrets, link, context.apps.htcondor.enabled)
    namespace, *objects = manifests(args, offered_profiles(context.catalog, hub))
    url = f"https://{args.hostname}"
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)),
                    exports={"jupyterhub": url}, outputs={"url": url, "namespace": hub.namespace})


def _mount_problems(storage: StorageSettings, flavours: dict[str, Flavour], where: str) -> list[Problem]:
    problems = []
    nfs_names = {area.name for area in storage.nfs}
    for name, flavour in sorted(flavours.items()):
        if (flavour.cvmfs or flavour.nfs) and not storage.enabled:
            problems.append(Problem(f"{where}flavours.{name}", name, "mounts CVMFS/NFS but eaf:apps.storage is off",
                                    "set eaf:apps.storage.enabled: true"))
            continue
        for repo in flavour.cvmfs:
            if repo not in storage.cvmfs_repositories:
                problems.append(Problem(f"{where}flavours.{name}.cvmfs", repo,
                                        "CVMFS repository not in eaf:apps.storage.cvmfsRepositories",
                                        f"add it there, or use one of: {', '.join(storage.cvmfs_repositories)}"))
        for area in flavour.nfs:
            if area not in nfs_names:
                problems.append(Problem(f"{where}flavours.{name}.nfs", area,
                                        "no such NFS area in eaf:apps.storage.nfs",
                                        f"add an area named {area!r} there, or use one of: "
                                        f"{', '.join(sorted(nfs_names)) or '(none configured)'}"))
    return problems


def _profile_problems(context: AppContext, catalog: VoCatalog, where: str) -> list[Problem]:
    hub = context.apps.jupyterhub
    problems = []
    offered = offered_mig_slices(context.plan)
    seen: set[str] = set()
    profiles = offered_profiles(catalog, hub)
    for index, profile in enumerate(profiles):
        own = index >= len(catalog.profiles)
        at = (f"eaf:apps.jupyterhub.extraProfiles[{index - len(catalog.profiles)}]" if own
              else f"{where}profiles[{index}]")
        if profile.slug in seen:
            problems.append(Problem(f"{at}.slug", profile.slug, "two profiles with the same slug",
                                    "give each profile its own slug"))
        seen.add(profile.slug)
        for group in profile.groups:
            if group not in catalog.groups:
                problems.append(Problem(f"{at}.groups", group, f"unknown VO group in profile {profile.slug!r}",
                                        f"use one of: {', '.join(sorted(catalog.groups))}, or add the group to "
                                        f"infra/data/apps/{hub.catalog}"))
        if profile.flavour not in catalog.flavours:
            problems.append(Problem(f"{at}.flavour", profile.flavour, "no such flavour",
                                    f"use one of: {', '.join(sorted(catalog.flavours))}"))
        if profile.mig_profile is not None:
            if not context.apps.gpu_operator.enabled:
                problems.append(Problem(f"{at}.migProfile", profile.mig_profile,
                                        "GPU profile while eaf:apps.gpuOperator is off: no MIG slice is advertised",
                                        "set eaf:apps.gpuOperator.enabled: true, or drop the GPU profile"))
            elif profile.mig_profile not in offered:
                problems.append(Problem(f"{at}.migProfile", profile.mig_profile,
                                        "no GPU worker of this stack is cut into this MIG slice",
                                        unoffered_slice_fix(offered)))
        problems += htcondor.profile_problems(context, profile.htcondor_pool, at)
    if sum(p.default for p in profiles) > 1:
        problems.append(Problem(f"{where}profiles", [p.slug for p in profiles if p.default],
                                "more than one default profile", "mark one profile `default: true`"))
    return problems


def problems(context: AppContext) -> list[Problem]:
    hub = context.apps.jupyterhub
    found = list(context.catalog_problems)
    if hub.oidc is None:
        found.append(Problem("eaf:apps.jupyterhub.oidc", None, "JupyterHub needs an OIDC identity provider",
                             "set oidc: {issuer: https://..., clientId: ...}"))
    catalog = context.catalog
    if catalog is None:
        return found
    where = f"infra/data/apps/{hub.catalog}:"
    found += _mount_problems(context.apps.storage, catalog.flavours, where)
    pinned = images.pinned_images()
    for name, flavour in sorted(catalog.flavours.items()):
        if flavour.image not in pinned:
            found.append(Problem(f"{where}flavours.{name}.image", flavour.image,
                                 "no such image key in infra/data/versions.yaml apps.images",
                                 f"pin the image there, or use one of: {', '.join(sorted(pinned))}"))
    return found + _profile_problems(context, catalog, where)


DEFINITION = AppDefinition(
    key="jupyterhub", settings=JupyterHubSettings,
    description="JupyterHub with the VO server catalog, OIDC login, named servers", component="JupyterHub",
    build=build, problems=problems, mounts_storage=True,
    secrets=(SecretNeed(JUPYTERHUB_OIDC_SECRET, "JupyterHub's OIDC client secret (eaf:apps.jupyterhub.oidc)",
                        f"pulumi config set --secret eaf:{JUPYTERHUB_OIDC_SECRET} -s {{stack}} < FILE"),))

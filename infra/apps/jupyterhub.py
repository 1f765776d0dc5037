"""JupyterHub from the upstream zero-to-jupyterhub chart (`jupyterhub`, pinned in versions.yaml apps.charts).

What the facility adds is values, built here from the typed settings and the VO catalog: the profile list with each
option's VO groups (the hub shows a user only the options of their groups: templates/hub_profiles_by_group.py.j2), four
named servers sharing one persistent home per user, GPU scratch, the flavours' CVMFS/NFS mounts, the idle culler,
OIDC login against the lab's SSO, the Dask Gateway as a hub service. The chart renders every hub and proxy object;
the stack adds only the namespace, the Route and (with monitoring) the ServiceMonitor and alert rules.

OKD: every pod the chart creates runs under `restricted-v2`. The chart's fixed UIDs and fsGroups (hub 1000, proxy
65534, single-user 1000/100) are nulled in the values, so the SCC assigns the namespace's own; what OKD does not need
is switched off (image-puller DaemonSets, the user scheduler and its placeholders, priority classes: cluster-wide
objects and node-level pre-pulling the platform's scheduler and registry already cover).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from infra.apps import dask_gateway, htcondor, images, storage
from infra.apps import objects as o
from infra.apps.alert_rules import prometheus_rules
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, SecretNeed
from infra.apps.catalog import offered_profiles
from infra.apps.charts import ChartRelease
from infra.apps.credentials import JUPYTERHUB_OIDC_SECRET
from infra.apps.gpu_operator import offered_mig_slices, unoffered_slice_fix
from infra.apps.images import image, image_values
from infra.apps.render import static
from infra.apps.storage import StorageSettings, flavour_mounts
from infra.spec.apps import AppSettings, Compute, Flavour, Oidc, Profile, VoCatalog, compute
from infra.spec.base import DnsLabel, DnsName, Strict
from infra.spec.errors import Problem

APP = "jupyterhub"
CHART = "jupyterhub"
HOME_MOUNT = "/home/jovyan"
SCRATCH_MOUNT = "/scratch"
HOME_CLAIM = "claim-{username}"  # one home per user, shared by the user's named servers (KubeSpawner expands it)
HUB_SECRET = "hub"  # the chart's hub Secret: its values.yaml, and each hub service's API token
PROMETHEUS_SERVICE = "prometheus"  # the hub service whose token may read /hub/metrics (read:metrics only)
MONITORING_NAMESPACE = "openshift-user-workload-monitoring"


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
    prometheus_token: Any  # the `prometheus` hub service's: lets the user-workload Prometheus read /hub/metrics


@dataclass(frozen=True)
class DaskGatewayLink:
    """How notebooks and the hub meet the Dask Gateway (when it is on)."""

    namespace: str
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
    home_class: str | None = None  # StorageClass of the homes and the hub database (storage.class_for)

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
    """(volumes, volume mounts) of one server option: home, the flavour's CVMFS and NFS areas, GPU scratch. A
    profile's volumes replace KubeSpawner's list, so the home (the chart's dynamic storage claim) is among them."""
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
    """KubeSpawner's profile_list (the chart's singleuser.profileList), with each entry's `groups` (removed by the
    hub's per-user filter)."""
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


def _from_namespace(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _authenticator(args: JupyterHubArgs) -> dict[str, Any]:
    """hub.config: OIDC login through the generic OAuthenticator; groups come from the userinfo claim."""
    hub = args.settings
    assert hub.oidc is not None  # validated by infra/apps/validate.py
    return {
        "JupyterHub": {"authenticator_class": "generic-oauth"},
        "Authenticator": {"enable_auth_state": True},
        # auth_state (the user's groups) is encrypted in the hub database with this key.
        "CryptKeeper": {"keys": [args.secrets.crypt_key]},
        "GenericOAuthenticator": {
            "client_id": hub.oidc.client_id,
            "client_secret": args.secrets.oidc_client_secret,
            "oauth_callback_url": f"https://{args.hostname}/hub/oauth_callback",
            **_oidc_endpoints(hub.oidc),
            "scope": list(hub.oidc.scopes),
            "username_claim": hub.oidc.username_claim,
            "manage_groups": True,
            # oauthenticator 16 (the chart's hub image) reads groups from the userinfo claim (`claim_groups_key`;
            # 17's `auth_state_groups_key` does not exist there).
            "claim_groups_key": hub.oidc.groups_claim,
            "allowed_groups": sorted(args.catalog.groups),
            "admin_groups": sorted(hub.admin_groups),
        },
    }


def _hub(args: JupyterHubArgs) -> dict[str, Any]:
    hub = args.settings
    services: dict[str, Any] = {}
    roles: dict[str, Any] = {}
    ingress: list[dict[str, Any]] = []
    if args.monitoring:
        services[PROMETHEUS_SERVICE] = {"apiToken": args.secrets.prometheus_token, "display": False}
        roles[PROMETHEUS_SERVICE] = {"services": [PROMETHEUS_SERVICE], "scopes": ["read:metrics"]}
        ingress.append({"from": [_from_namespace(MONITORING_NAMESPACE)], "ports": [{"port": "http"}]})
    if args.dask_gateway is not None:
        # The gateway resolves users' tokens with its own (/authorizations/token), which yields the token owner's
        # name and groups by itself: the service needs no role, so it gets no scope at all.
        services["dask-gateway"] = {"apiToken": args.dask_gateway.api_token, "display": False}
        ingress.append({"from": [_from_namespace(args.dask_gateway.namespace)], "ports": [{"port": "http"}]})
    return {
        "image": image_values("jupyterhub-hub"),
        "cookieSecret": args.secrets.cookie_secret,
        "config": _authenticator(args),
        "allowNamedServers": True,
        "namedServerLimitPerUser": hub.named_servers_per_user,
        # /hub/metrics answers only a token with read:metrics (the ServiceMonitor's), also through the Route.
        "authenticatePrometheus": True,
        "resources": o.resources(hub.hub),
        "db": {"pvc": {"storage": f"{hub.hub_db_gib}Gi", "storageClassName": args.home_class}},
        "services": services,
        "loadRoles": roles,
        "networkPolicy": {"ingress": ingress},
        "extraConfig": {"eaf-profiles-by-group": static("hub_profiles_by_group.py.j2")},
    }


def _proxy(args: JupyterHubArgs) -> dict[str, Any]:
    return {
        "secretToken": args.secrets.proxy_token,
        # Public through the stack's Route (TLS at the router), never a LoadBalancer of its own.
        "service": {"type": "ClusterIP"},
        "chp": {"image": image_values("configurable-http-proxy"), "resources": o.resources(args.settings.proxy)},
    }


def _singleuser(args: JupyterHubArgs, profiles: tuple[Profile, ...]) -> dict[str, Any]:
    hub = args.settings
    environment: dict[str, str] = {}
    egress: list[dict[str, Any]] = []
    if args.dask_gateway is not None:
        gateway = args.dask_gateway
        # Dashboards are reached through the user's own server (jupyter-server-proxy), i.e. behind hub login;
        # the gateway itself has no Route.
        host = gateway.web_address.removeprefix("http://")
        environment = {"DASK_GATEWAY__ADDRESS": gateway.web_address,
                       "DASK_GATEWAY__PROXY_ADDRESS": gateway.scheduler_address,
                       "DASK_GATEWAY__PUBLIC_ADDRESS": f"/user/{{username}}/proxy/{host}",
                       "DASK_GATEWAY__AUTH__TYPE": "jupyterhub"}
        egress.append({"to": [_from_namespace(gateway.namespace)]})
    default = next((p for p in profiles if p.default), profiles[0]) if profiles else None
    values: dict[str, Any] = {
        "startTimeout": 600,
        "extraLabels": o.labels(APP, "singleuser-server"),
        "extraEnv": environment,
        "networkPolicy": {"egress": egress},
        "cloudMetadata": {"blockWithIptables": False},  # a privileged init container; on-prem, no metadata server
        "storage": {"type": "dynamic", "capacity": f"{hub.home_gib}Gi", "homeMountPath": HOME_MOUNT,
                    "dynamic": {"pvcNameTemplate": HOME_CLAIM, "storageClass": args.home_class,
                                "storageAccessModes": [hub.home_access_mode]}},
        "profileList": profile_entries(args, profiles),
    }
    if default is not None:
        values["image"] = image_values(args.catalog.flavours[default.flavour].image)
    return values


# The chart's fixed UIDs/GIDs, unset (Helm drops a default whose value is null): OKD's restricted-v2 SCC assigns
# each pod the namespace's own UID and fsGroup, and refuses a pod that asks for another one. KubeSpawner then sets
# none on the single-user pods either.
OKD_UNSET = {
    "hub": {"podSecurityContext": {"fsGroup": None},
            "containerSecurityContext": {"runAsUser": None, "runAsGroup": None}},
    "proxy": {"chp": {"containerSecurityContext": {"runAsUser": None, "runAsGroup": None}}},
    "singleuser": {"uid": None, "fsGid": None},
}


def chart_values(args: JupyterHubArgs, profiles: tuple[Profile, ...]) -> dict[str, Any]:
    """The jupyterhub chart's values, from the typed settings (the one place they are made)."""
    culler = args.settings.culler
    return {
        "fullnameOverride": "",
        "hub": _hub(args),
        "proxy": _proxy(args),
        "singleuser": _singleuser(args, profiles),
        "cull": {"enabled": True, "timeout": culler.timeout_minutes * 60, "every": culler.every_minutes * 60,
                 "maxAge": culler.max_age_hours * 3600, "concurrency": 10},
        # Node-level image pre-pulling (DaemonSets, a hook Job), the user scheduler and its placeholders, priority
        # classes: cluster-wide or node-level machinery OKD's scheduler and the cluster's registry already cover.
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "scheduling": {"userScheduler": {"enabled": False}, "podPriority": {"enabled": False},
                       "userPlaceholder": {"enabled": False}},
        "ingress": {"enabled": False},
    }


def manifests(args: JupyterHubArgs) -> list[dict[str, Any]]:
    """The stack's own objects beside the chart's, namespace first."""
    ns = args.settings.namespace
    objects = [
        o.namespace(ns, APP),
        o.route("jupyterhub", ns, APP, args.hostname, "proxy-public", "http",
                # Notebook websockets stay open for long; the router's default 30 s would cut them.
                {"haproxy.router.openshift.io/timeout": "3600s"}),
    ]
    if args.monitoring:
        # The chart's hub Service (component: hub); the token of the `prometheus` hub service, from the hub Secret.
        objects.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                        "metadata": o.metadata("hub", ns, APP, "hub"),
                        "spec": {"selector": {"matchLabels": {"app": "jupyterhub", "component": "hub"}},
                                 "endpoints": [{"port": "hub", "path": "/hub/metrics", "interval": "30s",
                                                "scheme": "http",
                                                "bearerTokenSecret": {
                                                    "name": HUB_SECRET,
                                                    "key": f"hub.services.{PROMETHEUS_SERVICE}.apiToken"}}]}})
        objects += prometheus_rules("jupyterhub", ns, APP)
    return objects


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None and context.credentials is not None and context.catalog is not None
    credentials, hub = context.credentials, context.apps.jupyterhub
    secrets = HubSecrets(cookie_secret=credentials.derived("jupyterhub-cookie-secret"),
                         proxy_token=credentials.derived("jupyterhub-proxy-token"),
                         crypt_key=credentials.derived("jupyterhub-crypt-key"),
                         oidc_client_secret=credentials.stack_secret(JUPYTERHUB_OIDC_SECRET),
                         prometheus_token=credentials.derived("jupyterhub-prometheus-token"))
    gateway = context.apps.dask_gateway
    link = DaskGatewayLink(gateway.namespace, dask_gateway.web_address(gateway),
                           dask_gateway.scheduler_address(gateway),
                           credentials.derived(dask_gateway.HUB_TOKEN_PURPOSE)) if gateway.enabled else None
    args = JupyterHubArgs(hub, context.apps.storage, context.catalog, context.plan.domain,
                          context.apps.monitoring.enabled, secrets, link, context.apps.htcondor.enabled,
                          storage.class_for(context.apps, hub.home_storage_class))
    namespace, *objects = manifests(args)
    release = ChartRelease(CHART, APP, hub.namespace, chart_values(args, offered_profiles(context.catalog, hub)),
                           unset=OKD_UNSET)
    url = f"https://{args.hostname}"
    # The ServiceMonitor reads the chart's hub Secret: the stack's objects follow the chart.
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects, after=("charts",))),
                    charts=(release,), exports={"jupyterhub": url}, outputs={"url": url, "namespace": hub.namespace})


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
    build=build, problems=problems, mounts_storage=True, charts=(CHART,),
    secrets=(SecretNeed(JUPYTERHUB_OIDC_SECRET, "JupyterHub's OIDC client secret (eaf:apps.jupyterhub.oidc)",
                        f"pulumi config set --secret eaf:{JUPYTERHUB_OIDC_SECRET} -s {{stack}} < FILE"),))

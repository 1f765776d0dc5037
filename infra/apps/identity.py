"""Identity from FERRY: each user's UID, GID and groups on the cluster are the lab's, read from FERRY.

FERRY (Fermilab's Frontier Experiments RegistRY) holds every account's UID and UNIX groups and each experiment's
(affiliation unit's) members. A CronJob in the hub's namespace (`eaf:apps.identity.schedule`) reads the units the
stack names (`units`: FERRY unit, its primary UNIX group, the VO catalog group its members belong to, or none for
the generic profile's users) and writes the identity map, ConfigMap `eaf-identities` (username -> uid, gid, groups,
VOs). Its program is infra/apps/ferry (standard library only), shipped as-is in a ConfigMap and run in a plain
Python image; FERRY authenticates it by the facility's client certificate, the stack secret `eaf:ferryClientCert`.

The single-user servers run under the service account `eaf-singleuser`, allowed exactly the site's UID and GID
ranges by the SCC built here. `spawner_identity()` is what the hub wires into KubeSpawner: the hooks that set
uid/gid/supplemental groups from the map, narrow the home area to `/nashome/<user>` and drop experiment areas
(`voAreas`) of VOs the user is not in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pulumi
from pydantic import Field, model_validator

from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, SecretNeed
from infra.apps.ferry.sync import IDENTITIES_KEY
from infra.apps.images import image
from infra.apps.render import render
from infra.apps.storage import nfs_claim
from infra.spec.apps import AppSettings
from infra.spec.base import DnsLabel, Strict
from infra.spec.errors import Problem

APP = "eaf-identity"
CLIENT_CERT_SECRET = "ferryClientCert"  # eaf:<key>
IMAGE = "ferry-sync"
IDENTITIES_CONFIG_MAP = "eaf-identities"
CODE_CONFIG_MAP = "eaf-identity-code"
CLIENT_CERT_OBJECT = "ferry-client-cert"
SYNC = "eaf-identity-sync"
SINGLEUSER_SERVICE_ACCOUNT = "eaf-singleuser"
SCC = "eaf-singleuser-ferry"
CODE_DIR = PurePosixPath("/opt/eaf")
IDENTITIES_DIR = PurePosixPath("/etc/eaf-identity")
CLIENT_PEM = PurePosixPath("/etc/ferry/client.pem")
SYNC_SETTINGS = "sync-settings.json"
HOOK_SETTINGS = "hook-settings.json"
FERRY_PACKAGE = Path(__file__).parent / "ferry"
FERRY_FILES = ("__init__.py", "model.py", "client.py", "sync.py", "spawner_hook.py")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class IdRange(Strict):
    """An inclusive range of UIDs or GIDs the site assigns its accounts."""

    min: int = Field(ge=1000, description="inclusive; IDs below 1000 are system accounts, never a notebook's")
    max: int = Field(le=2**31 - 1, description="inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> IdRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: no ID would be allowed (swap them)")
        return self


class FerryUnit(Strict):
    """A FERRY affiliation unit whose members get an identity."""

    unit: str = Field(pattern=_NAME, description="FERRY's unitname, e.g. cms, dune, mu2e")
    primary_group: str = Field(pattern=_NAME, description="its members' primary UNIX group in FERRY, e.g. us_cms")
    vo: str | None = Field(None, description="the VO catalog group its members belong to; none: the generic profile")


class IdentitySettings(AppSettings):
    enabled: bool = False
    ferry_url: str = Field("https://ferry.fnal.gov:8445", pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$",
                           description="FERRY's REST API (https only: FERRY sees the client certificate)")
    schedule: str = Field("*/30 * * * *", pattern=r"^\S+ \S+ \S+ \S+ \S+$", description="CronJob schedule")
    uid_range: IdRange = Field(IdRange(min=1000, max=65535), description="the site's UIDs: the SCC allows only these")
    gid_range: IdRange = Field(IdRange(min=1000, max=65535), description="the site's GIDs (primary + supplemental)")
    units: tuple[FerryUnit, ...] = Field((), description="FERRY affiliation units whose members get an identity")
    home_area: DnsLabel = Field("nashome", description="eaf:apps.storage.nfs area of the homes: <mountPath>/<user>")
    vo_areas: dict[DnsLabel, str] = Field({}, description="eaf:apps.storage.nfs area -> the VO whose members get it")


# -- what the hub wires in ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpawnerIdentity:
    """What the hub adds for FERRY identities (the hub pod's volumes/mounts/env and KubeSpawner's config)."""

    service_account: str  # c.KubeSpawner.service_account: the one the SCC admits
    volumes: tuple[dict[str, Any], ...]  # the hub pod's: the ferry package + hook settings, the identity map
    volume_mounts: tuple[dict[str, Any], ...]
    env: dict[str, str]  # PYTHONPATH so the hub config can import `ferry`
    hub_config: str  # Python for jupyterhub_config.py: sets pre_spawn_hook, modify_pod_hook, service_account


def code_items() -> list[dict[str, str]]:
    """The code ConfigMap's keys as files under CODE_DIR: the package at ferry/, the settings beside it."""
    return [*({"key": name, "path": f"ferry/{name}"} for name in FERRY_FILES),
            {"key": SYNC_SETTINGS, "path": SYNC_SETTINGS}, {"key": HOOK_SETTINGS, "path": HOOK_SETTINGS}]


def _code_volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes = [{"name": "ferry-code", "configMap": {"name": CODE_CONFIG_MAP, "items": code_items()}}]
    mounts = [{"name": "ferry-code", "mountPath": str(CODE_DIR), "readOnly": True}]
    return volumes, mounts


def spawner_identity(context: AppContext) -> SpawnerIdentity | None:
    """None while the identity app is off (the hub then spawns as today)."""
    if not context.apps.identity.enabled:
        return None
    volumes, mounts = _code_volumes()
    volumes.append({"name": "identities", "configMap": {"name": IDENTITIES_CONFIG_MAP}})
    mounts.append({"name": "identities", "mountPath": str(IDENTITIES_DIR), "readOnly": True})
    config = render("identity_hooks.py.j2", {"settings": str(CODE_DIR / HOOK_SETTINGS),
                                             "service_account": SINGLEUSER_SERVICE_ACCOUNT})
    return SpawnerIdentity(service_account=SINGLEUSER_SERVICE_ACCOUNT, volumes=tuple(volumes),
                           volume_mounts=tuple(mounts), env={"PYTHONPATH": str(CODE_DIR)}, hub_config=config)


# -- the build -------------------------------------------------------------------------------------------------------


def sync_settings(settings: IdentitySettings, namespace: str) -> str:
    document = {"ferryUrl": settings.ferry_url, "namespace": namespace, "configMap": IDENTITIES_CONFIG_MAP,
                "uidRange": {"min": settings.uid_range.min, "max": settings.uid_range.max},
                "units": [{"unit": u.unit, "primaryGroup": u.primary_group, "vo": u.vo} for u in settings.units]}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def hook_settings(context: AppContext) -> str:
    settings: IdentitySettings = context.apps.identity
    areas = {area.name: area for area in context.apps.storage.nfs}
    home = areas.get(settings.home_area)
    document = {"identitiesPath": str(IDENTITIES_DIR / IDENTITIES_KEY), "homeVolume": nfs_claim(settings.home_area),
                "homeMountPath": home.mount_path if home else f"/{settings.home_area}",
                "voVolumes": {nfs_claim(area): vo for area, vo in sorted(settings.vo_areas.items())}}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def scc(settings: IdentitySettings, namespace: str) -> dict[str, Any]:
    """Exactly the site's UIDs and GIDs; otherwise as strict as OKD's restricted-v2 (no host access, no privilege,
    every capability dropped, RuntimeDefault seccomp). Admits only pods whose service account may `use` it."""
    gids = [{"min": settings.gid_range.min, "max": settings.gid_range.max}]
    return {"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints",
            "metadata": o.metadata(SCC, None, APP, "scc", annotations={
                "kubernetes.io/description": f"EAF single-user servers in {namespace}: the site's FERRY UIDs/GIDs"}),
            "allowHostDirVolumePlugin": False, "allowHostIPC": False, "allowHostNetwork": False,
            "allowHostPID": False, "allowHostPorts": False, "allowPrivilegedContainer": False,
            "allowPrivilegeEscalation": False, "allowedCapabilities": [], "defaultAddCapabilities": [],
            "requiredDropCapabilities": ["ALL"], "priority": 0, "readOnlyRootFilesystem": False,
            "runAsUser": {"type": "MustRunAsRange", "uidRangeMin": settings.uid_range.min,
                          "uidRangeMax": settings.uid_range.max},
            "fsGroup": {"type": "MustRunAs", "ranges": gids},
            "supplementalGroups": {"type": "MustRunAs", "ranges": gids},
            "seLinuxContext": {"type": "MustRunAs"}, "seccompProfiles": ["runtime/default"],
            "users": [], "groups": [],
            "volumes": ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                        "projected", "secret"]}


def _cron_job(settings: IdentitySettings, namespace: str) -> dict[str, Any]:
    volumes, mounts = _code_volumes()
    volumes.append({"name": "client-cert", "secret": {"secretName": CLIENT_CERT_OBJECT, "defaultMode": 0o400}})
    mounts.append({"name": "client-cert", "mountPath": str(CLIENT_PEM.parent), "readOnly": True})
    container = {"name": "sync", "image": image(IMAGE),
                 "command": ["python", "-m", "ferry.sync", str(CODE_DIR / SYNC_SETTINGS)],
                 "env": [{"name": "PYTHONPATH", "value": str(CODE_DIR)},
                         {"name": "FERRY_CLIENT_PEM", "value": str(CLIENT_PEM)}],
                 "volumeMounts": mounts, "securityContext": o.hardened(),
                 "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                               "limits": {"cpu": "500m", "memory": "256Mi"}}}
    pod = {"metadata": {"labels": o.labels(APP, "sync")},
           "spec": {"serviceAccountName": SYNC, "restartPolicy": "Never", "containers": [container],
                    "volumes": volumes}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": o.metadata(SYNC, namespace, APP, "sync"),
            "spec": {"schedule": settings.schedule, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 600,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": 1800, "template": pod}}}}


def build(context: AppContext) -> AppBuild:
    assert context.credentials is not None
    settings: IdentitySettings = context.apps.identity
    namespace = context.apps.jupyterhub.namespace
    code = {name: (FERRY_PACKAGE / name).read_text(encoding="utf-8") for name in FERRY_FILES}
    code[SYNC_SETTINGS] = sync_settings(settings, namespace)
    code[HOOK_SETTINGS] = hook_settings(context)
    pem = pulumi.Output.secret(pulumi.Output.from_input(context.credentials.stack_secret(CLIENT_CERT_SECRET)))
    sync = [
        o.service_account(SYNC, namespace, APP),
        # Only this one ConfigMap, only patched: the sync can neither read nor change anything else.
        o.role(SYNC, namespace, APP, [o.rule([""], ["configmaps"], ["get", "patch"], [IDENTITIES_CONFIG_MAP])]),
        o.binding(SYNC, namespace, APP, "Role", SYNC, [(namespace, SYNC)]),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata(CODE_CONFIG_MAP, namespace, APP, "code"),
         "data": code},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": o.metadata(CLIENT_CERT_OBJECT, namespace, APP, "sync"), "stringData": {CLIENT_PEM.name: pem}},
        # No data of Pulumi's: the sync's patch alone owns identities.json, so no `up` (server-side apply) can ever
        # reset the map to an older or empty one.
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": o.metadata(IDENTITIES_CONFIG_MAP, namespace, APP, "identities")},
        _cron_job(settings, namespace),
    ]
    servers = [
        o.service_account(SINGLEUSER_SERVICE_ACCOUNT, namespace, APP),
        scc(settings, namespace),
        o.role(SINGLEUSER_SERVICE_ACCOUNT, namespace, APP, [o.use_scc(SCC)]),
        o.binding(SINGLEUSER_SERVICE_ACCOUNT, namespace, APP, "Role", SINGLEUSER_SERVICE_ACCOUNT,
                  [(namespace, SINGLEUSER_SERVICE_ACCOUNT)]),
    ]
    return AppBuild((ObjectGroup("sync", sync), ObjectGroup("servers", servers)))


# -- checks ----------------------------------------------------------------------------------------------------------


def _vo_problem(path: str, vo: str, context: AppContext) -> list[Problem]:
    if context.catalog is None or vo in context.catalog.groups:
        return []
    return [Problem(path, vo, "not a group of the VO catalog, so no profile would ever follow from it",
                    f"use one of: {', '.join(sorted(context.catalog.groups))}")]


def problems(context: AppContext) -> list[Problem]:
    settings: IdentitySettings = context.apps.identity
    where = "eaf:apps.identity"
    found = []
    if not context.apps.jupyterhub.enabled:
        found.append(Problem(f"{where}.enabled", True, "the identity map is for the hub's servers, and JupyterHub "
                             "is off", "set eaf:apps.jupyterhub.enabled: true, or turn eaf:apps.identity off"))
    if not settings.units:
        found.append(Problem(f"{where}.units", [], "no FERRY unit named: the identity map would stay empty and no "
                             "server could start", "add a unit, e.g. {unit: cms, primaryGroup: us_cms, vo: cms}"))
    seen: set[str] = set()
    for i, unit in enumerate(settings.units):
        if unit.unit in seen:
            found.append(Problem(f"{where}.units[{i}].unit", unit.unit, "named twice: its members' primary group "
                                 "would depend on the order", "keep one entry per FERRY unit"))
        seen.add(unit.unit)
        if unit.vo is not None:
            found += _vo_problem(f"{where}.units[{i}].vo", unit.vo, context)
    areas = {area.name for area in context.apps.storage.nfs}
    known = ", ".join(sorted(areas)) or "(none: add the area to the storage app)"
    for name in (settings.home_area, *sorted(settings.vo_areas)):
        if name not in areas:
            path = f"{where}.homeArea" if name == settings.home_area else f"{where}.voAreas.{name}"
            found.append(Problem(path, name, "not an NFS area of eaf:apps.storage.nfs",
                                 f"use one of: {known}"))
    for name, vo in sorted(settings.vo_areas.items()):
        found += _vo_problem(f"{where}.voAreas.{name}", vo, context)
    if settings.home_area in settings.vo_areas:
        found.append(Problem(f"{where}.voAreas.{settings.home_area}", settings.vo_areas[settings.home_area],
                             "the home area is every user's, not one VO's", "drop it from voAreas"))
    return found


DEFINITION = AppDefinition(
    key="identity", settings=IdentitySettings, component="Identity", build=build, problems=problems,
    description="Users' UID/GID/groups from FERRY (a sync CronJob -> ConfigMap eaf-identities) and the SCC of the "
                "site's UID range for the single-user servers",
    secrets=(SecretNeed(CLIENT_CERT_SECRET, "FERRY authenticates the identity sync by the facility's client "
                        "certificate (eaf:apps.identity)",
                        "pulumi config set --secret eaf:ferryClientCert -s {stack} < ferry-client.pem "
                        "(certificate and unencrypted key, PEM, one file)",
                        needed=lambda apps: apps.identity.enabled),),
    uses_credentials=False)

"""Storage for notebooks: the CVMFS CSI driver (our own objects, pinned cvmfs-csi image) and NFS areas as PV/PVCs.

CVMFS: one StorageClass per repository (the driver's `repository` parameter), and in each consumer namespace one
read-only PVC per repository, so a notebook mounts exactly the repositories of its flavour at /cvmfs/<repo>.
NFS (/nashome, /uscms/home, /uscms/data...): a statically provisioned PV per area and consumer namespace, bound to
its PVC by claimRef, so no other claim can take it.
The apps' own claims (homes, the hub DB, Postgres, MLflow artifacts, Triton models) bind through the classes of
infra/apps/provisioners.py; `claim_problems` checks that each names a class the stack has, before anything deploys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic.alias_generators import to_camel

from infra.apps import objects as o
from infra.apps import provisioners
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.images import image
from infra.spec.apps import AppSettings, Flavour
from infra.spec.base import DnsLabel, DnsName, Strict
from infra.spec.errors import Problem

APP = "eaf-storage"
CVMFS_DRIVER = "cvmfs.csi.cern.ch"
KUBELET_DIR = "/var/lib/kubelet"
PLUGIN_DIR = f"{KUBELET_DIR}/plugins/{CVMFS_DRIVER}"


class NfsArea(Strict):
    """An NFS export mounted into notebooks (e.g. /nashome, /uscms/home): one PV + PVC per consumer namespace."""

    name: DnsLabel
    server: DnsName
    path: str = Field(pattern=r"^/.*")
    mount_path: str = Field(pattern=r"^/.*")
    read_only: bool = False
    size_gib: int = Field(1000, alias="sizeGiB", gt=0, description="informational: NFS does not enforce it")
    mount_options: tuple[str, ...] = ("nfsvers=4.1", "hard")


class StorageSettings(AppSettings):
    namespace: DnsLabel = "eaf-storage"
    cvmfs_repositories: tuple[DnsName, ...] = (
        "cms.cern.ch", "dune.opensciencegrid.org", "fermilab.opensciencegrid.org", "larsoft.opensciencegrid.org",
        "mu2e.opensciencegrid.org", "gm2.opensciencegrid.org", "sft.cern.ch", "unpacked.cern.ch",
        "sw.lsst.eu", "oasis.opensciencegrid.org",
    )
    cvmfs_http_proxy: str = Field("DIRECT", description="CVMFS_HTTP_PROXY, e.g. the site squid")
    cvmfs_cache_gib: int = Field(20, alias="cvmfsCacheGiB", gt=0)
    nfs: tuple[NfsArea, ...] = ()
    local: provisioners.LocalVolumes | None = Field(None, description="class eaf-local: volumes on the workers' "
                                                    "data disks (local-path-provisioner)")
    nfs_provisioner: provisioners.NfsProvisioner | None = Field(None, description="class eaf-nfs: volumes on a site "
                                                                "NFS export (csi-driver-nfs)")
    default_class: provisioners.ClassName | None = Field(None, description="the class of claims that name none")

    @property
    def classes(self) -> tuple[str, ...]:
        """The dynamic StorageClasses this stack defines."""
        return provisioners.classes(self.local, self.nfs_provisioner) if self.enabled else ()


def class_for(apps: Any, storage_class: str | None) -> str | None:
    """The class a claim names: its app's setting, else the stack's default class (None: neither is set, which
    `claim_problems` refuses for enabled apps)."""
    return storage_class if storage_class is not None else apps.storage.default_class if apps.storage.enabled \
        else None


@dataclass(frozen=True)
class ClaimSetting:
    """An app setting that chooses the StorageClass of the app's claims, and the access mode those claims ask."""

    app: str  # AppDefinition.key
    field: str  # attribute of the app's settings
    access_mode: str
    what: str
    access_mode_field: str | None = None  # the app's setting of the mode, where it has one

    def mode(self, settings: Any) -> str:
        return getattr(settings, self.access_mode_field) if self.access_mode_field else self.access_mode


# Every dynamically provisioned claim of the apps layer, by the setting that chooses its class.
CLAIM_SETTINGS = (
    ClaimSetting("jupyterhub", "home_storage_class", "ReadWriteOnce", "users' homes and the hub database",
                 "home_access_mode"),
    ClaimSetting("keycloak", "db_storage_class", "ReadWriteOnce", "Keycloak's Postgres"),
    ClaimSetting("mlflow", "db_storage_class", "ReadWriteOnce", "MLflow's Postgres"),
    ClaimSetting("mlflow", "artifacts_storage_class", "ReadWriteOnce", "MLflow's artifacts"),
    ClaimSetting("triton", "model_repository_storage_class", "ReadWriteMany", "Triton's model repository"),
)


def _config_path(app_key: str, settings: Any, field: str) -> str:
    alias = type(settings).model_fields[field].alias or field
    return f"eaf:apps.{to_camel(app_key)}.{alias}"


def claim_problems(apps: Any) -> list[Problem]:
    """Each enabled app's claims must bind: their class exists in the stack (or the stack's default class does)
    and it gives the claim's access mode. A claim of no existing class stays Pending, and its pod with it."""
    storage: StorageSettings = apps.storage
    problems: list[Problem] = []
    if storage.enabled and storage.default_class is not None and storage.default_class not in storage.classes:
        section = "local" if storage.default_class == provisioners.LOCAL_CLASS else "nfsProvisioner"
        problems.append(Problem("eaf:apps.storage.defaultClass", storage.default_class,
                                f"the stack defines no such class (it defines: {list(storage.classes) or 'none'})",
                                f"set eaf:apps.storage.{section}, or name one of the defined classes"))
    enabled = {d.key for d in apps.enabled()}
    for setting in CLAIM_SETTINGS:
        if setting.app not in enabled:
            continue
        settings = getattr(apps, setting.app)
        chosen = getattr(settings, setting.field)
        path = _config_path(setting.app, settings, setting.field)
        if chosen is None and class_for(apps, None) is None:
            problems.append(Problem(path, None, f"{setting.what}: no class named and the stack has no default "
                                    "class, so the claim would stay Pending",
                                    "set eaf:apps.storage.defaultClass (with eaf:apps.storage.local or "
                                    "nfsProvisioner), or name a class here"))
            continue
        name = class_for(apps, chosen)
        if name not in storage.classes:
            problems.append(Problem(path, name, f"{setting.what}: the stack defines no StorageClass {name!r} (it "
                                    f"defines: {list(storage.classes) or 'none'}), so the claim would stay Pending",
                                    "name eaf-local or eaf-nfs and configure it under eaf:apps.storage"))
        elif setting.mode(settings) not in provisioners.ACCESS_MODES[name]:
            problems.append(Problem(path, name, f"{setting.what} need {setting.mode(settings)}, which {name} cannot "
                                    f"give (only {sorted(provisioners.ACCESS_MODES[name])})",
                                    f"name {provisioners.NFS_CLASS} here"))
    return problems


def cvmfs_class(repo: str) -> str:
    return f"cvmfs-{o.slug(repo)}"


def cvmfs_claim(repo: str) -> str:
    return f"cvmfs-{o.slug(repo)}"


def nfs_claim(area: str) -> str:
    return f"nfs-{area}"


def nfs_volume(area: str, namespace: str) -> str:
    return f"nfs-{area}-{namespace}"


def flavour_mounts(flavour: Flavour, settings: StorageSettings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volume mounts) of a flavour's CVMFS repositories (read-only) and NFS areas, for any pod."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for repo in flavour.cvmfs:
        claim = cvmfs_claim(repo)
        volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
        mounts.append({"name": claim, "mountPath": f"/cvmfs/{repo}", "readOnly": True})
    areas = {area.name: area for area in settings.nfs}
    for name in flavour.nfs:
        area, claim = areas[name], nfs_claim(name)
        volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": claim, "readOnly": area.read_only}})
        mounts.append({"name": claim, "mountPath": area.mount_path, "readOnly": area.read_only})
    return volumes, mounts


@dataclass(frozen=True)
class StorageArgs:
    settings: StorageSettings
    consumers: tuple[str, ...]  # namespaces whose pods mount CVMFS and NFS
    cluster: str  # the cluster's name: its directory on the NFS provisioner's export


def _host_path(name: str, path: str, kind: str | None = None) -> dict[str, Any]:
    host_path: dict[str, Any] = {"path": path}
    if kind is not None:
        host_path["type"] = kind
    return {"name": name, "hostPath": host_path}


def _cvmfs_driver(settings: StorageSettings) -> list[dict[str, Any]]:
    ns = settings.namespace
    socket = f"{PLUGIN_DIR}/csi.sock"
    default_local = (f"CVMFS_HTTP_PROXY={settings.cvmfs_http_proxy}\n"
                     f"CVMFS_QUOTA_LIMIT={settings.cvmfs_cache_gib * 1024}\n"
                     "CVMFS_CACHE_BASE=/cvmfs-localcache\n")
    node_pod = {
        "metadata": {"labels": o.labels(APP, "cvmfs-nodeplugin")},
        "spec": {
            "serviceAccountName": "cvmfs-nodeplugin",
            "hostPID": True,  # autofs, which mounts repositories on first access, needs the host's PID namespace
            "nodeSelector": {"node-role.kubernetes.io/worker": ""},
            "containers": [
                {"name": "registrar", "image": image("csi-node-driver-registrar"),
                 "args": ["--csi-address=/csi/csi.sock", f"--kubelet-registration-path={socket}"],
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                               "limits": {"cpu": "100m", "memory": "64Mi"}},
                 "volumeMounts": [{"name": "plugin-dir", "mountPath": "/csi"},
                                  {"name": "registration-dir", "mountPath": "/registration"}]},
                {"name": "nodeplugin", "image": image("cvmfs-csi"),
                 "args": ["--role=identity,node", f"--drivername={CVMFS_DRIVER}", f"--endpoint=unix://{socket}",
                          "--nodeid=$(NODE_ID)", "--start-automount-daemon=true"],
                 "env": [{"name": "NODE_ID", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                 # Mounting FUSE file systems into other pods' volumes needs a privileged container.
                 "securityContext": {"privileged": True, "allowPrivilegeEscalation": True,
                                     "capabilities": {"add": ["SYS_ADMIN"]}},
                 "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                               "limits": {"cpu": "2000m", "memory": "2Gi"}},
                 "volumeMounts": [
                     {"name": "plugin-dir", "mountPath": PLUGIN_DIR},
                     {"name": "pods-mount-dir", "mountPath": f"{KUBELET_DIR}/pods",
                      "mountPropagation": "Bidirectional"},
                     {"name": "host-sys", "mountPath": "/sys"},
                     {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
                     {"name": "host-dev", "mountPath": "/dev"},
                     {"name": "cvmfs-localcache", "mountPath": "/cvmfs-localcache"},
                     {"name": "cvmfs-config", "mountPath": "/etc/cvmfs/default.local", "subPath": "default.local"},
                 ]},
            ],
            "volumes": [
                _host_path("plugin-dir", PLUGIN_DIR, "DirectoryOrCreate"),
                _host_path("registration-dir", f"{KUBELET_DIR}/plugins_registry", "DirectoryOrCreate"),
                _host_path("pods-mount-dir", f"{KUBELET_DIR}/pods", "Directory"),
                _host_path("host-sys", "/sys"),
                _host_path("lib-modules", "/lib/modules"),
                _host_path("host-dev", "/dev"),
                {"name": "cvmfs-localcache", "emptyDir": {"sizeLimit": f"{settings.cvmfs_cache_gib}Gi"}},
                {"name": "cvmfs-config", "configMap": {"name": "cvmfs-default-local"}},
            ],
        },
    }
    controller_pod = {
        "metadata": {"labels": o.labels(APP, "cvmfs-controllerplugin")},
        "spec": {
            "serviceAccountName": "cvmfs-provisioner",
            "containers": [
                {"name": "provisioner", "image": image("csi-provisioner"),
                 "args": ["--csi-address=/csi/csi.sock", "--leader-election=true",
                          f"--leader-election-namespace={ns}"],
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                               "limits": {"cpu": "200m", "memory": "128Mi"}},
                 "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}]},
                {"name": "controllerplugin", "image": image("cvmfs-csi"),
                 "args": ["--role=identity,controller", f"--drivername={CVMFS_DRIVER}",
                          "--endpoint=unix:///csi/csi.sock"],
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                               "limits": {"cpu": "200m", "memory": "128Mi"}},
                 "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}]},
            ],
            "volumes": [{"name": "socket-dir", "emptyDir": {}}],
        },
    }
    return [
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
         "metadata": o.metadata(CVMFS_DRIVER, None, APP, "cvmfs"),
         "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]}},
        o.service_account("cvmfs-nodeplugin", ns, APP),
        o.service_account("cvmfs-provisioner", ns, APP),
        o.role("eaf-cvmfs-provisioner", None, APP, [
            o.rule([""], ["persistentvolumes"], ["get", "list", "watch", "create", "delete"]),
            o.rule([""], ["persistentvolumeclaims"], ["get", "list", "watch", "update"]),
            o.rule(["storage.k8s.io"], ["storageclasses", "csinodes"], ["get", "list", "watch"]),
            o.rule([""], ["events"], ["list", "watch", "create", "update", "patch"]),
        ]),
        o.binding("eaf-cvmfs-provisioner", None, APP, "ClusterRole", "eaf-cvmfs-provisioner",
                  [(ns, "cvmfs-provisioner")]),
        o.role("cvmfs-leader-election", ns, APP, [
            o.rule(["coordination.k8s.io"], ["leases"], ["get", "watch", "list", "delete", "update", "create"]),
        ]),
        o.binding("cvmfs-leader-election", ns, APP, "Role", "cvmfs-leader-election", [(ns, "cvmfs-provisioner")]),
        # The node plugin runs privileged: OKD admits that through the `privileged` SCC, granted by RBAC.
        o.role("eaf-cvmfs-privileged-scc", None, APP, [o.use_scc("privileged")]),
        o.binding("cvmfs-privileged-scc", ns, APP, "ClusterRole", "eaf-cvmfs-privileged-scc",
                  [(ns, "cvmfs-nodeplugin")]),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("cvmfs-default-local", ns, APP, "cvmfs"),
         "data": {"default.local": default_local}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": o.metadata("cvmfs-nodeplugin", ns, APP,
                                                                              "cvmfs-nodeplugin"),
         "spec": {"selector": {"matchLabels": o.selector(APP, "cvmfs-nodeplugin")}, "template": node_pod}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": o.metadata("cvmfs-controllerplugin", ns, APP, "cvmfs-controllerplugin"),
         "spec": {"replicas": 1, "selector": {"matchLabels": o.selector(APP, "cvmfs-controllerplugin")},
                  "template": controller_pod}},
        *[{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": o.metadata(cvmfs_class(repo), None, APP, "cvmfs"),
           "provisioner": CVMFS_DRIVER, "parameters": {"repository": repo},
           "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}
          for repo in settings.cvmfs_repositories],
    ]


def _nfs_pair(area: NfsArea, consumer: str) -> list[dict[str, Any]]:
    modes = ["ReadOnlyMany"] if area.read_only else ["ReadWriteMany"]
    size = f"{area.size_gib}Gi"
    volume = nfs_volume(area.name, consumer)
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": o.metadata(volume, None, APP, "nfs"),
          "spec": {"capacity": {"storage": size}, "accessModes": modes, "persistentVolumeReclaimPolicy": "Retain",
                   # No class: only the claim named in claimRef can bind this volume.
                   "storageClassName": "", "mountOptions": list(area.mount_options),
                   "nfs": {"server": area.server, "path": area.path, "readOnly": area.read_only},
                   "claimRef": {"namespace": consumer, "name": nfs_claim(area.name)}}}
    return [pv, o.pvc(nfs_claim(area.name), consumer, APP, size, modes, "", volume_name=volume)]


def consumer_claims(settings: StorageSettings, consumer: str) -> list[dict[str, Any]]:
    """What one consumer namespace gets: a read-only claim per CVMFS repository, a PV/PVC pair per NFS area."""
    claims = [o.pvc(cvmfs_claim(repo), consumer, APP, "1Mi", ["ReadOnlyMany"], cvmfs_class(repo))
              for repo in settings.cvmfs_repositories]
    for area in settings.nfs:
        claims += _nfs_pair(area, consumer)
    return claims


def manifests(args: StorageArgs) -> list[dict[str, Any]]:
    ns = args.settings.namespace
    privileged = {"pod-security.kubernetes.io/enforce": "privileged",
                  "security.openshift.io/scc.podSecurityLabelSync": "false"}
    settings = args.settings
    objects = [o.namespace(ns, APP, privileged), *_cvmfs_driver(settings),
               *provisioners.manifests(settings.local, settings.nfs_provisioner, settings.default_class, ns,
                                       args.cluster)]
    for consumer in args.consumers:
        objects += consumer_claims(args.settings, consumer)
    return objects


def build(context: AppContext) -> AppBuild:
    """The driver and classes in the storage namespace; the claims in every namespace whose pods mount them (those
    namespaces are their apps' own: each claim waits for its namespace)."""
    assert context.plan is not None
    settings: StorageSettings = context.apps.storage
    consumers = tuple(sorted(getattr(context.apps, d.key).namespace
                             for d in context.apps.enabled() if d.mounts_storage))
    namespace, *objects = manifests(StorageArgs(settings, consumers, context.plan.cluster_name))
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)),
                    outputs={"cvmfsRepositories": list(settings.cvmfs_repositories),
                             "nfsAreas": [area.name for area in settings.nfs],
                             "storageClasses": list(settings.classes), "defaultStorageClass": settings.default_class})


DEFINITION = AppDefinition(key="storage", settings=StorageSettings, description="CVMFS CSI driver and NFS areas",
                           component="Storage", build=build)

"""Dynamic provisioning: the StorageClasses every app claim binds through, and the provisioners behind them.

- `eaf-local`: Rancher's local-path-provisioner (pinned image), a directory per volume under `path` on the node
  that first runs the claim's pod (the workers' data disk, mounted there by the site). ReadWriteOnce only, and the
  volume stays on that node: for the single-instance databases (hub DB, Postgres).
- `eaf-nfs`: the Kubernetes CSI NFS driver (csi-driver-nfs, pinned image), a sub-directory per volume of the
  site's export. ReadWriteMany: homes, MLflow artifacts, Triton's model repository.

Both are our own objects with the upstream images, as the CVMFS driver in infra/apps/storage.py; no upstream
manifest is copied. On OKD both provisioners mount host paths, so their service accounts use the privileged SCC.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from infra.apps import objects as o
from infra.apps.images import image
from infra.spec.base import DnsName, Strict

APP = "eaf-storage"
LOCAL_CLASS = "eaf-local"
NFS_CLASS = "eaf-nfs"
LOCAL_PROVISIONER = "rancher.io/local-path"
NFS_DRIVER = "nfs.csi.k8s.io"
KUBELET_DIR = "/var/lib/kubelet"
NFS_PLUGIN_DIR = f"{KUBELET_DIR}/plugins/csi-nfsplugin"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
ClassName = Literal["eaf-local", "eaf-nfs"]
# What each class can give a claim: the API server accepts any mode, the provisioner refuses the others.
ACCESS_MODES: dict[str, frozenset[str]] = {
    LOCAL_CLASS: frozenset({"ReadWriteOnce", "ReadWriteOncePod"}),
    NFS_CLASS: frozenset({"ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"}),
}


class LocalVolumes(Strict):
    """Volumes on the nodes' own disks (class `eaf-local`)."""

    path: str = Field("/var/mnt/eaf-local", pattern=r"^/[^\s]*[^/\s]$",
                      description="directory on every worker holding the volumes: the site mounts the workers' "
                      "data disk here (docs/apps.md)")
    reclaim_policy: Literal["Delete", "Retain"] = "Retain"


class NfsProvisioner(Strict):
    """Volumes as sub-directories of one site export (class `eaf-nfs`)."""

    server: DnsName
    share: str = Field(pattern=r"^/[^\s]*$", description="the exported path, e.g. /eaf/prod-a")
    mount_options: tuple[str, ...] = ("nfsvers=4.1", "hard")
    reclaim_policy: Literal["Delete", "Retain"] = "Retain"


def _privileged_account(name: str, ns: str) -> list[dict[str, Any]]:
    return [o.service_account(name, ns, APP),
            o.binding(f"{name}-privileged-scc", ns, APP, "ClusterRole", "eaf-storage-privileged-scc", [(ns, name)])]


def storage_class(name: str, provisioner: str, parameters: dict[str, str], reclaim: str, binding: str,
                  default: bool, mount_options: tuple[str, ...] = ()) -> dict[str, Any]:
    meta = o.metadata(name, None, APP, name)
    meta["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true" if default else "false"}
    found: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
                             "provisioner": provisioner, "reclaimPolicy": reclaim, "volumeBindingMode": binding}
    if parameters:
        found["parameters"] = parameters
    if mount_options:
        found["mountOptions"] = list(mount_options)
    return found


def local_config(local: LocalVolumes) -> dict[str, str]:
    """local-path-provisioner's ConfigMap: its documented config.json, helper pod and set-up/teardown scripts."""
    helper = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "helper-pod"},
              "spec": {"priorityClassName": "system-node-critical",
                       "tolerations": [{"key": "node.kubernetes.io/disk-pressure", "operator": "Exists",
                                        "effect": "NoSchedule"}],
                       "containers": [{"name": "helper-pod", "image": image("local-path-helper"),
                                       "imagePullPolicy": "IfNotPresent"}]}}
    return {
        "config.json": json.dumps({"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                                                    "paths": [local.path]}]}, indent=1, sort_keys=True) + "\n",
        "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
        "helperPod.yaml": json.dumps(helper, indent=1, sort_keys=True) + "\n",
    }


def local_manifests(local: LocalVolumes, ns: str, default: bool) -> list[dict[str, Any]]:
    name = "local-path-provisioner"
    config = local_config(local)
    pod = {
        "metadata": {"labels": o.labels(APP, name), "annotations": {"eaf.fnal.gov/config-sha256":
                                                                    o.content_hash(config)}},
        "spec": {"serviceAccountName": name, "containers": [{
            "name": name, "image": image("local-path-provisioner"),
            "command": ["local-path-provisioner", "--debug", "start", "--config", "/etc/config/config.json",
                        "--service-account-name", name, "--provisioner-name", LOCAL_PROVISIONER,
                        "--helper-image", image("local-path-helper"), "--configmap-name", "local-path-config"],
            "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/config/"}]}],
            "volumes": [{"name": "config", "configMap": {"name": "local-path-config"}}]},
    }
    return [
        *_privileged_account(name, ns),
        o.role("eaf-local-path-provisioner", None, APP, [
            o.rule([""], ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
                   ["get", "list", "watch"]),
            o.rule([""], ["persistentvolumes"], ["get", "list", "watch", "create", "patch", "update", "delete"]),
            o.rule([""], ["events"], ["create", "patch"]),
            o.rule(["storage.k8s.io"], ["storageclasses"], ["get", "list", "watch"]),
        ]),
        o.binding("eaf-local-path-provisioner", None, APP, "ClusterRole", "eaf-local-path-provisioner", [(ns, name)]),
        # Its helper pods (which create and remove the volume directories) run in its own namespace.
        o.role(name, ns, APP, [o.rule([""], ["pods"], ["get", "list", "watch", "create", "patch", "update",
                                                       "delete"])]),
        o.binding(name, ns, APP, "Role", name, [(ns, name)]),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata("local-path-config", ns, APP, name),
         "data": config},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata(name, ns, APP, name),
         "spec": {"replicas": 1, "selector": {"matchLabels": o.selector(APP, name)}, "template": pod}},
        # The volume is made where the first pod lands: binding waits for the scheduler.
        storage_class(LOCAL_CLASS, LOCAL_PROVISIONER, {}, local.reclaim_policy, "WaitForFirstConsumer", default),
    ]


def _nfs_plugin(args: list[str], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "nfs", "image": image("csi-nfsplugin"),
            "args": ["--v=2", "--nodeid=$(NODE_ID)", "--endpoint=$(CSI_ENDPOINT)", f"--drivername={NFS_DRIVER}",
                     *args],
            "env": [{"name": "NODE_ID", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "CSI_ENDPOINT", "value": "unix:///csi/csi.sock"}],
            # Mounting the export into other pods' volumes needs a privileged container.
            "securityContext": {"privileged": True, "allowPrivilegeEscalation": True,
                                "capabilities": {"add": ["SYS_ADMIN"]}},
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "volumeMounts": mounts}


def nfs_manifests(nfs: NfsProvisioner, ns: str, default: bool, cluster: str) -> list[dict[str, Any]]:
    controller, node = "csi-nfs-controller", "csi-nfs-node"
    socket = f"{NFS_PLUGIN_DIR}/csi.sock"
    small = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    controller_pod = {
        "metadata": {"labels": o.labels(APP, controller)},
        "spec": {"serviceAccountName": controller, "containers": [
            {"name": "csi-provisioner", "image": image("csi-provisioner"),
             "args": ["--csi-address=/csi/csi.sock", "--leader-election=true", f"--leader-election-namespace={ns}",
                      "--extra-create-metadata=true"],
             "resources": small, "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}]},
            # The controller mounts the export to create and remove each volume's sub-directory.
            _nfs_plugin([], [{"name": "socket-dir", "mountPath": "/csi"},
                             {"name": "pods-mount-dir", "mountPath": f"{KUBELET_DIR}/pods",
                              "mountPropagation": "Bidirectional"}]),
        ], "volumes": [{"name": "socket-dir", "emptyDir": {}},
                       {"name": "pods-mount-dir", "hostPath": {"path": f"{KUBELET_DIR}/pods", "type": "Directory"}}]},
    }
    node_pod = {
        "metadata": {"labels": o.labels(APP, node)},
        "spec": {"serviceAccountName": node, "hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet",
                 "nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [
                     {"name": "node-driver-registrar", "image": image("csi-node-driver-registrar"),
                      "args": ["--csi-address=/csi/csi.sock", f"--kubelet-registration-path={socket}"],
                      "resources": small,
                      "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"},
                                       {"name": "registration-dir", "mountPath": "/registration"}]},
                     _nfs_plugin([], [{"name": "socket-dir", "mountPath": "/csi"},
                                      {"name": "pods-mount-dir", "mountPath": f"{KUBELET_DIR}/pods",
                                       "mountPropagation": "Bidirectional"}]),
                 ], "volumes": [
                     {"name": "socket-dir", "hostPath": {"path": NFS_PLUGIN_DIR, "type": "DirectoryOrCreate"}},
                     {"name": "registration-dir", "hostPath": {"path": f"{KUBELET_DIR}/plugins_registry",
                                                               "type": "Directory"}},
                     {"name": "pods-mount-dir", "hostPath": {"path": f"{KUBELET_DIR}/pods", "type": "Directory"}},
                 ]},
    }
    return [
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": o.metadata(NFS_DRIVER, None, APP, "nfs"),
         "spec": {"attachRequired": False, "fsGroupPolicy": "File", "volumeLifecycleModes": ["Persistent"]}},
        *_privileged_account(controller, ns),
        *_privileged_account(node, ns),
        o.role("eaf-csi-nfs-provisioner", None, APP, [
            o.rule([""], ["persistentvolumes"], ["get", "list", "watch", "create", "delete"]),
            o.rule([""], ["persistentvolumeclaims"], ["get", "list", "watch", "update"]),
            o.rule(["storage.k8s.io"], ["storageclasses", "csinodes"], ["get", "list", "watch"]),
            o.rule([""], ["events"], ["get", "list", "watch", "create", "update", "patch"]),
            o.rule([""], ["secrets"], ["get"]),
            o.rule(["coordination.k8s.io"], ["leases"], ["get", "list", "watch", "create", "update", "patch"]),
        ]),
        o.binding("eaf-csi-nfs-provisioner", None, APP, "ClusterRole", "eaf-csi-nfs-provisioner",
                  [(ns, controller)]),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata(controller, ns, APP, controller),
         "spec": {"replicas": 1, "selector": {"matchLabels": o.selector(APP, controller)},
                  "template": controller_pod}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": o.metadata(node, ns, APP, node),
         "spec": {"selector": {"matchLabels": o.selector(APP, node)}, "template": node_pod}},
        # One sub-directory per claim, named after its cluster and itself, so an operator finds a user's home on the
        # export, and prod-a and prod-b can share one export without ever writing into each other's volumes.
        storage_class(NFS_CLASS, NFS_DRIVER,
                      {"server": nfs.server, "share": nfs.share,
                       "subDir": f"{cluster}/${{pvc.metadata.namespace}}/${{pvc.metadata.name}}"},
                      nfs.reclaim_policy, "Immediate", default, nfs.mount_options),
    ]


def manifests(local: LocalVolumes | None, nfs: NfsProvisioner | None, default: str | None, ns: str,
              cluster: str) -> list[dict[str, Any]]:
    """The provisioners the stack configures, and the privileged-SCC ClusterRole their accounts share."""
    if local is None and nfs is None:
        return []
    return [
        o.role("eaf-storage-privileged-scc", None, APP, [o.use_scc("privileged")]),
        *(local_manifests(local, ns, default == LOCAL_CLASS) if local is not None else []),
        *(nfs_manifests(nfs, ns, default == NFS_CLASS, cluster) if nfs is not None else []),
    ]


def classes(local: LocalVolumes | None, nfs: NfsProvisioner | None) -> tuple[str, ...]:
    return (*((LOCAL_CLASS,) if local is not None else ()), *((NFS_CLASS,) if nfs is not None else ()))

"""Storage: the CVMFS CSI driver's own objects, claims per CVMFS repository, NFS areas bound by claimRef."""

from __future__ import annotations

import pytest

from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_each_cvmfs_repository_has_a_storage_class_and_a_read_only_claim_for_notebooks(stack):
    manifests = manifests_for(stack)
    classes = {m["metadata"]["name"]: m for m in manifests
               if m["kind"] == "StorageClass" and m["metadata"]["name"].startswith("cvmfs-")}
    assert "cvmfs-cms-cern-ch" in classes and len(classes) == 10, f"{stack}: {sorted(classes)}"
    for name, storage_class in classes.items():
        assert storage_class["provisioner"] == "cvmfs.csi.cern.ch", name
        repo = storage_class["parameters"]["repository"]
        claim = named(manifests, "PersistentVolumeClaim", name, "jupyterhub")
        assert claim["spec"]["storageClassName"] == name and claim["spec"]["accessModes"] == ["ReadOnlyMany"], repo


def test_nfs_areas_are_static_volumes_bound_to_their_claim_only():
    manifests = manifests_for("dev")
    volume = named(manifests, "PersistentVolume", "nfs-nashome-jupyterhub")
    assert volume["spec"]["nfs"] == {"server": "nashome.fnal.gov", "path": "/nashome", "readOnly": False}
    assert volume["spec"]["claimRef"] == {"namespace": "jupyterhub", "name": "nfs-nashome"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain", "deleting a claim must never erase homes"
    claim = named(manifests, "PersistentVolumeClaim", "nfs-nashome", "jupyterhub")
    assert claim["spec"]["volumeName"] == "nfs-nashome-jupyterhub"
    assert claim["spec"]["storageClassName"] == "", "no dynamic provisioning for NFS areas"


def test_cvmfs_node_plugin_runs_privileged_through_the_privileged_scc_on_every_worker():
    manifests = manifests_for("dev")
    daemonset = named(manifests, "DaemonSet", "cvmfs-nodeplugin", "eaf-storage")
    pod = daemonset["spec"]["template"]["spec"]
    plugin = next(c for c in pod["containers"] if c["name"] == "nodeplugin")
    assert plugin["securityContext"]["privileged"] is True
    assert pod["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    scc = named(manifests, "ClusterRole", "eaf-cvmfs-privileged-scc")
    assert scc["rules"] == [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                             "verbs": ["use"], "resourceNames": ["privileged"]}]
    bound = named(manifests, "RoleBinding", "cvmfs-privileged-scc", "eaf-storage")
    assert bound["subjects"] == [{"kind": "ServiceAccount", "name": "cvmfs-nodeplugin", "namespace": "eaf-storage"}]


def test_cvmfs_clients_use_the_site_squid():
    config = named(manifests_for("prod-a"), "ConfigMap", "cvmfs-default-local", "eaf-storage")
    assert "CVMFS_HTTP_PROXY=http://squid.fnal.gov:3128\n" in config["data"]["default.local"]


def test_csi_driver_is_registered_without_attach():
    driver = named(manifests_for("dev"), "CSIDriver", "cvmfs.csi.cern.ch")
    assert driver["spec"]["attachRequired"] is False

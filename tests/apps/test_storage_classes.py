"""Dynamic provisioning: every claim of every stack binds through a StorageClass that stack defines."""

from __future__ import annotations

import json

import pytest

from infra.spec.errors import ConfigError
from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS, run_stack

DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def _claims(manifests):
    """Every claim the stack creates: PVCs, and each StatefulSet's claim templates (as namespace/name)."""
    for m in manifests:
        if m["kind"] == "PersistentVolumeClaim":
            yield f"{m['metadata']['namespace']}/{m['metadata']['name']}", m["spec"]
        if m["kind"] == "StatefulSet":
            for template in m["spec"].get("volumeClaimTemplates", []):
                yield f"{m['metadata']['namespace']}/{m['metadata']['name']}:{template['metadata']['name']}", \
                    template["spec"]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_claim_of_the_stack_names_a_class_the_stack_defines_or_a_static_volume_it_creates(stack):
    manifests = manifests_for(stack)
    classes = {m["metadata"]["name"] for m in manifests if m["kind"] == "StorageClass"}
    defaults = [m["metadata"]["name"] for m in manifests if m["kind"] == "StorageClass"
                and m["metadata"].get("annotations", {}).get(DEFAULT_ANNOTATION) == "true"]
    volumes = {m["metadata"]["name"] for m in manifests if m["kind"] == "PersistentVolume"}
    claims = list(_claims(manifests))
    assert len(claims) > 20, f"{stack}: expected the apps' claims, found {len(claims)}"
    assert len(defaults) == 1, f"{stack}: exactly one default class, found {defaults}"
    for where, spec in claims:
        if spec.get("storageClassName") == "":
            assert spec["volumeName"] in volumes, f"{stack} {where}: static volume {spec['volumeName']} missing"
        else:
            assert spec.get("storageClassName", defaults[0]) in classes, f"{stack} {where}: {spec}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_databases_are_on_the_workers_disks_and_shared_data_on_the_site_export(stack):
    manifests = manifests_for(stack)
    classes = {where: spec.get("storageClassName") for where, spec in _claims(manifests)}
    assert classes["keycloak/keycloak-db:data"] == "eaf-local"
    assert classes["mlflow/mlflow-db:data"] == "eaf-local"
    assert classes["mlflow/mlflow-artifacts"] == "eaf-nfs", "no class named: the default class, by name"
    default = named(manifests, "StorageClass", "eaf-nfs")
    assert default["metadata"]["annotations"][DEFAULT_ANNOTATION] == "true"


def test_prod_clusters_share_one_export_each_in_its_own_directory():
    shares = {stack: named(manifests_for(stack), "StorageClass", "eaf-nfs")["parameters"]
              for stack in ("prod-a", "prod-b")}
    assert shares["prod-a"]["server"] == shares["prod-b"]["server"] == "eafnfs.fnal.gov"
    assert shares["prod-a"]["share"] == shares["prod-b"]["share"] == "/eaf/prod"
    assert shares["prod-a"]["subDir"] == "eaf-prod-a/${pvc.metadata.namespace}/${pvc.metadata.name}"
    assert shares["prod-b"]["subDir"] == "eaf-prod-b/${pvc.metadata.namespace}/${pvc.metadata.name}"


def test_nfs_class_is_the_csi_nfs_driver_keeping_volumes_and_one_directory_per_claim():
    storage_class = named(manifests_for("dev"), "StorageClass", "eaf-nfs")
    assert storage_class["provisioner"] == "nfs.csi.k8s.io"
    assert storage_class["parameters"] == {"server": "eafnfs.fnal.gov", "share": "/eaf/dev",
                                           "subDir": "eaf-dev/${pvc.metadata.namespace}/${pvc.metadata.name}"}
    assert storage_class["reclaimPolicy"] == "Retain", "deleting a claim must never erase a home"
    assert storage_class["mountOptions"] == ["nfsvers=4.1", "hard"]


def test_local_class_waits_for_the_pod_and_puts_volumes_under_the_data_disk_path():
    manifests = manifests_for("dev")
    storage_class = named(manifests, "StorageClass", "eaf-local")
    assert storage_class["provisioner"] == "rancher.io/local-path"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    config = named(manifests, "ConfigMap", "local-path-config", "eaf-storage")["data"]
    assert json.loads(config["config.json"]) == {
        "nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/var/mnt/eaf-local"]}]}
    deployment = named(manifests, "Deployment", "local-path-provisioner", "eaf-storage")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/rancher/local-path-provisioner:v0.0.30"
    assert "docker.io/library/busybox:1.36.1" in container["command"]


def test_provisioner_accounts_use_the_privileged_scc_as_they_mount_host_paths():
    manifests = manifests_for("dev")
    bound = {s["name"] for m in manifests if m["kind"] == "RoleBinding"
             and m["roleRef"]["name"] == "eaf-storage-privileged-scc" for s in m["subjects"]}
    assert bound == {"local-path-provisioner", "csi-nfs-controller", "csi-nfs-node"}


def _problems(stack, storage=None, apps=None) -> str:
    overrides = {"apps": {**({"storage": storage} if storage is not None else {}), **(apps or {})}}
    with pytest.raises(ConfigError) as caught:
        run_stack(stack, overrides=overrides)
    return str(caught.value)


def test_a_stack_without_a_default_class_is_refused_for_each_claim_that_names_none():
    message = _problems("dev", {"defaultClass": None})
    assert "eaf:apps.mlflow.artifactsStorageClass" in message
    assert "no class named and the stack has no default class, so the claim would stay Pending" in message
    assert "set eaf:apps.storage.defaultClass" in message


def test_a_claim_naming_a_class_the_stack_lacks_is_refused_naming_the_defined_ones():
    message = _problems("dev", apps={"keycloak": {"dbStorageClass": "ceph-rbd"}})
    assert "eaf:apps.keycloak.dbStorageClass = 'ceph-rbd'" in message
    assert "the stack defines no StorageClass 'ceph-rbd'" in message and "['eaf-local', 'eaf-nfs']" in message


def test_a_shared_claim_on_node_local_volumes_is_refused():
    message = _problems("dev", apps={"triton": {"modelRepositoryStorageClass": "eaf-local"}})
    assert "eaf:apps.triton.modelRepositoryStorageClass = 'eaf-local'" in message
    assert "need ReadWriteMany, which eaf-local cannot give" in message and "name eaf-nfs here" in message


def test_a_default_class_whose_provisioner_is_not_configured_is_refused():
    message = _problems("prod-a", {"nfsProvisioner": None})  # the baseline's, taken away by the stack
    assert "eaf:apps.storage.defaultClass = 'eaf-nfs'" in message
    assert "the stack defines no such class (it defines: ['eaf-local'])" in message
    assert "set eaf:apps.storage.nfsProvisioner" in message


def test_an_nfs_share_that_is_not_an_absolute_path_is_refused_with_its_field():
    message = _problems("dev", {"nfsProvisioner": {"server": "eafnfs.fnal.gov", "share": "eaf/dev"}})
    assert "nfsProvisioner.share" in message and "eaf/dev" in message

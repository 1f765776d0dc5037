"""The stacks' StorageClasses on a real kube-apiserver: created for real, the default class is the one the server's
DefaultStorageClass admission gives a claim that names none (the hub's claims do), and a class the project's
validation would refuse is refused by the server too.

Needs .tools/bin/{etcd,kube-apiserver} (scripts/build-k8s-tools.sh); without them these tests error with that
instruction instead of being skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from infra.apps.provisioners import LocalVolumes
from tests.apiserver.apps_on_server import create_namespace, namespaces_removed_afterwards
from tests.apps.manifests import manifests_for, named
from tests.support.dryrun import _request, submit

pytestmark = pytest.mark.real

NAMESPACE = "eaf-storage-classes-check"


def _classes(stack: str) -> list[dict]:
    return [m for m in manifests_for(stack) if m["kind"] in ("StorageClass", "CSIDriver")
            and not m["metadata"]["name"].startswith("cvmfs")]


def _delete_cluster_scoped(client, objects: list[dict]) -> None:
    for obj in objects:
        plural = {"StorageClass": "storageclasses", "CSIDriver": "csidrivers"}[obj["kind"]]
        response = _request(client, "DELETE", f"/apis/storage.k8s.io/v1/{plural}/{obj['metadata']['name']}")
        assert response.status in (200, 202, 404), response.text[:300]


@pytest.fixture
def prod_classes(kube_api_client) -> Iterator[list[dict]]:
    """prod-a's eaf-local and eaf-nfs classes and the NFS CSIDriver, stored by the server, removed afterwards."""
    objects = _classes("prod-a")
    assert sorted(o["metadata"]["name"] for o in objects) == ["eaf-local", "eaf-nfs", "nfs.csi.k8s.io"]
    _delete_cluster_scoped(kube_api_client, objects)
    try:
        for obj in objects:
            response = _request(kube_api_client, "POST", f"/apis/storage.k8s.io/v1/{_plural(obj)}",
                                [("fieldValidation", "Strict")], obj)
            assert response.status == 201, f"{obj['kind']} {obj['metadata']['name']}: {response.text[:400]}"
        yield objects
    finally:
        _delete_cluster_scoped(kube_api_client, objects)


def _plural(obj: dict) -> str:
    return {"StorageClass": "storageclasses", "CSIDriver": "csidrivers"}[obj["kind"]]


def test_the_stacks_classes_are_stored_as_built(kube_api_client, prod_classes):
    for built in prod_classes:
        stored = _request(kube_api_client, "GET", f"/apis/storage.k8s.io/v1/{_plural(built)}/"
                          f"{built['metadata']['name']}").body
        assert stored is not None
        for key in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode", "mountOptions"):
            assert stored.get(key) == built.get(key), (built["metadata"]["name"], key)
        # The server fills in the CSIDriver's defaults; what the project sets is kept as set.
        assert {k: stored.get("spec", {}).get(k) for k in built.get("spec", {})} == built.get("spec", {})


def test_a_claim_naming_no_class_gets_the_stacks_default_class_from_the_server(kube_api_client, prod_classes):
    # Every claim of the stack's own names its class; one that names none (a chart's, a user's) gets the default.
    mlflow_db = next(m for m in manifests_for("prod-a") if m["kind"] == "PersistentVolumeClaim"
                     and m["metadata"]["name"].startswith("mlflow"))
    claim = copy.deepcopy(mlflow_db)
    claim["spec"].pop("storageClassName", None)
    claim["spec"].pop("volumeName", None)
    claim["metadata"]["namespace"] = NAMESPACE
    with namespaces_removed_afterwards(kube_api_client, [NAMESPACE]):
        create_namespace(kube_api_client, NAMESPACE)
        response = _request(kube_api_client, "POST", f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims",
                            [("fieldValidation", "Strict")], claim)
        assert response.status == 201, response.text[:400]
        assert response.body is not None and response.body["spec"]["storageClassName"] == "eaf-nfs"


def test_a_reclaim_policy_outside_delete_and_retain_is_stopped_by_config_validation():
    with pytest.raises(ValidationError) as caught:
        LocalVolumes(reclaimPolicy="Keep")
    assert "reclaim_policy" in str(caught.value) or "reclaimPolicy" in str(caught.value)


def test_a_reclaim_policy_outside_delete_and_retain_is_refused_by_the_server(kube_api_client):
    bad = copy.deepcopy(named(manifests_for("prod-a"), "StorageClass", "eaf-local"))
    bad["reclaimPolicy"] = "Keep"
    (rejection,) = submit([bad], kube_api_client)
    assert rejection.status == 422 and 'Unsupported value: "Keep"' in rejection.message, rejection.message

"""The one-node cluster's configuration logic, without starting it (unit tier)."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

import yaml

from tests.support.kube_node import local_path_storage_documents, missing_prerequisites
from tests.support.node_namespaces import LINK_POOL, pick_link_network

# The shape of upstream's deploy/local-path-storage.yaml, reduced to what the fixture changes.
_UPSTREAM_SHAPE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-path-provisioner, namespace: local-path-storage}
spec:
  template:
    spec:
      containers:
        - {name: local-path-provisioner, image: rancher/local-path-provisioner:v0.0.30}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
---
kind: ConfigMap
apiVersion: v1
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/opt/local-path-provisioner"]}]}
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper-pod}
    spec:
      containers:
      - {name: helper-pod, image: busybox, imagePullPolicy: IfNotPresent}
"""


def _documents(tmp_path: Path) -> dict[str, dict]:
    manifest = tmp_path / "local-path-storage.yaml"
    manifest.write_text(_UPSTREAM_SHAPE)
    docs = local_path_storage_documents(
        manifest, provisioner_image="eaf.local/lpp:v1", helper_image="eaf.local/busybox:1", volume_dir=tmp_path / "v"
    )
    return {doc["kind"]: doc for doc in docs}


def test_provisioner_runs_the_locally_built_image(tmp_path):
    deployment = _documents(tmp_path)["Deployment"]
    assert [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["eaf.local/lpp:v1"]


def test_volumes_are_made_under_the_nodes_work_dir(tmp_path):
    config = json.loads(_documents(tmp_path)["ConfigMap"]["data"]["config.json"])
    assert config["nodePathMap"] == [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(tmp_path / "v")]}]


def test_helper_pod_uses_the_local_busybox(tmp_path):
    helper = yaml.safe_load(_documents(tmp_path)["ConfigMap"]["data"]["helperPod.yaml"])
    assert [c["image"] for c in helper["spec"]["containers"]] == ["eaf.local/busybox:1"]


def test_storage_class_becomes_the_default_and_keeps_its_provisioner(tmp_path):
    storage_class = _documents(tmp_path)["StorageClass"]
    assert storage_class["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class["provisioner"] == "rancher.io/local-path"


def test_link_network_is_a_slash_30_of_the_pool_clear_of_host_routes():
    taken = [ipaddress.ip_network("172.30.0.0/17")]
    for seed in range(20):
        net = pick_link_network(random.Random(seed), taken)
        assert net.prefixlen == 30 and net.subnet_of(LINK_POOL)
        assert not net.overlaps(taken[0])


def test_missing_tools_are_listed_with_the_command_that_provides_them(tmp_path):
    missing = missing_prerequisites(bin_dir=tmp_path)
    assert f"{tmp_path / 'kubelet'}: run scripts/build-k8s-tools.sh (or scripts/setup.sh)" in missing
    assert any(entry.startswith(f"{tmp_path / 'pause'}:") for entry in missing)

"""The real-API-server tier: the fixture itself, and what server-side dry-run catches.

Needs .tools/bin/{etcd,kube-apiserver} (scripts/build-k8s-tools.sh); without them every
test here errors with that instruction instead of being skipped.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.apiserver import (
    BIN_DIR,
    REPO_ROOT,
    ApiServerStartError,
    LocalApiServer,
    MissingK8sToolsError,
    report_line,
)
from tests.support.dryrun import STATUS_NOT_SENT, Rejection, check, split_checkable, submit

pytestmark = pytest.mark.real


def _pinned(key: str) -> str:
    for line in (REPO_ROOT / "scripts" / "go" / "versions.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise AssertionError(f"{key} not pinned in scripts/go/versions.env")


def _unique(prefix: str) -> str:
    # Session-wide server: names must not collide between tests.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _deployment(name: str = "web", namespace: str = "default") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.example/web:1.0",
                            "ports": [{"containerPort": 8080}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                        }
                    ]
                },
            },
        },
    }


def _container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _only(rejections: list[Rejection]) -> Rejection:
    assert len(rejections) == 1, [str(r) for r in rejections]
    return rejections[0]


def _crd(group: str, kind: str, plural: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
                        }
                    },
                }
            ],
        },
    }


# -- the fixture ------------------------------------------------------------------------


def test_server_answers_readyz(kube_apiserver):
    status, body = kube_apiserver.get("/readyz")
    assert (status, body.strip()) == (200, "ok")


def test_server_reports_the_pinned_kubernetes_version(kube_apiserver):
    assert kube_apiserver.server_version() == _pinned("KUBERNETES_VERSION")


def test_server_became_ready_within_the_timeout(kube_apiserver):
    assert kube_apiserver.startup_seconds is not None
    assert kube_apiserver.startup_seconds < kube_apiserver.ready_timeout


def test_kubeconfig_works_for_the_built_kubectl(kube_apiserver):
    result = subprocess.run(
        [
            str(BIN_DIR / "kubectl"),
            f"--kubeconfig={kube_apiserver.kubeconfig_path}",
            "get",
            "namespace",
            "default",
            "-o",
            "name",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "namespace/default"), result.stderr


def test_missing_binaries_error_says_how_to_build_them(tmp_path):
    with pytest.raises(MissingK8sToolsError, match=r"run scripts/build-k8s-tools\.sh"):
        LocalApiServer(bin_dir=tmp_path, work_root=tmp_path / "work").start()


def _fake_bin_dir(tmp_path: Path, apiserver_script: str) -> Path:
    # Real etcd, scripted kube-apiserver: exercises the failure paths in seconds.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "etcd").symlink_to(BIN_DIR / "etcd")
    fake = bin_dir / "kube-apiserver"
    fake.write_text(f"#!/bin/sh\n{apiserver_script}\n")
    fake.chmod(0o755)
    return bin_dir


def test_start_error_includes_the_tail_of_the_server_log_when_it_exits(tmp_path):
    bin_dir = _fake_bin_dir(tmp_path, 'echo "E0101 fake-apiserver: bad flag --nope" >&2; exit 3')
    server = LocalApiServer(bin_dir=bin_dir, work_root=tmp_path / "work", ready_timeout=20)
    with pytest.raises(ApiServerStartError) as error:
        server.start()
    message = str(error.value)
    assert "kube-apiserver exited with status 3" in message
    assert "fake-apiserver: bad flag --nope" in message


def test_start_error_after_timeout_names_the_last_readyz_answer(tmp_path):
    bin_dir = _fake_bin_dir(tmp_path, 'echo "still starting"; exec sleep 60')
    server = LocalApiServer(bin_dir=bin_dir, work_root=tmp_path / "work", ready_timeout=5)
    with pytest.raises(ApiServerStartError, match=r"kube-apiserver was not ready after .*last /readyz answer") as error:
        server.start()
    assert "still starting" in str(error.value)
    assert server.pids == {}


def test_stop_ends_both_processes_by_pid_and_removes_the_work_dir(tmp_path):
    server = LocalApiServer(work_root=tmp_path / "work").start()
    pids = server.pids
    work_dir = server.work_dir
    server.stop()
    assert set(pids) == {"etcd", "kube-apiserver"}
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not work_dir.exists()


# -- dry-run: accepted -------------------------------------------------------------------


def test_valid_deployment_dry_runs_clean(kube_api_client):
    assert submit([_deployment()], kube_api_client) == []


def test_dry_run_stores_nothing(kube_apiserver, kube_api_client):
    name = _unique("ghost")
    assert submit([_deployment(name)], kube_api_client) == []
    status, _ = kube_apiserver.get(f"/apis/apps/v1/namespaces/default/deployments/{name}")
    assert status == 404


def test_one_object_dry_run_is_timed_for_the_report(request, kube_api_client):
    submit([_deployment()], kube_api_client)  # warm discovery and connections
    rounds = 20
    began = time.monotonic()
    for _ in range(rounds):
        assert submit([_deployment()], kube_api_client) == []
    per_object = (time.monotonic() - began) / rounds
    report_line(request.config, f"\n[kube-apiserver] dry-run of one Deployment: {per_object * 1000:.0f} ms")


def test_namespace_is_created_for_real_so_its_objects_can_be_checked(kube_apiserver, kube_api_client):
    namespace = _unique("app")
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        _deployment(namespace=namespace),
    ]
    assert submit(objects, kube_api_client) == []
    status, _ = kube_apiserver.get(f"/api/v1/namespaces/{namespace}")
    assert status == 200


def test_cluster_scoped_kind_is_sent_without_a_namespace(kube_api_client):
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": _unique("reader")},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    assert submit([cluster_role], kube_api_client) == []


def test_crd_is_established_before_its_custom_resource_is_checked(kube_api_client):
    group = f"{_unique('widgets')}.eaf.test"
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3},
    }
    assert submit([_crd(group, "Widget", "widgets"), widget], kube_api_client) == []


def test_custom_resource_with_unknown_field_is_rejected_by_its_crd_schema(kube_api_client):
    group = f"{_unique('widgets')}.eaf.test"
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3, "colour": "red"},
    }
    rejection = _only(submit([_crd(group, "Widget", "widgets"), widget], kube_api_client))
    assert rejection.kind == "Widget"
    assert 'unknown field "spec.colour"' in rejection.message


# -- dry-run: rejected, with the server's message ---------------------------------------


def test_selector_not_matching_template_labels_is_rejected(kube_api_client):
    deployment = _deployment()
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    rejection = _only(submit([deployment], kube_api_client))
    assert (rejection.kind, rejection.status, rejection.reason) == ("Deployment", 422, "Invalid")
    assert "`selector` does not match template `labels`" in rejection.message


def test_memory_request_above_limit_is_rejected(kube_api_client):
    deployment = _deployment()
    _container(deployment)["resources"] = {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}
    rejection = _only(submit([deployment], kube_api_client))
    assert rejection.status == 422
    assert "must be less than or equal to memory limit" in rejection.message


def test_unknown_field_is_rejected_by_strict_field_validation(kube_api_client):
    deployment = _deployment()
    _container(deployment)["imagePullPolicyy"] = "Always"
    rejection = _only(submit([deployment], kube_api_client))
    assert rejection.status == 400
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolicyy"' in rejection.message


def test_name_that_is_not_rfc_1123_is_rejected(kube_api_client):
    rejection = _only(submit([_deployment(name="Web_App")], kube_api_client))
    assert rejection.status == 422
    assert "a lowercase RFC 1123 subdomain must consist of" in rejection.message


def test_object_in_a_missing_namespace_is_rejected(kube_api_client):
    namespace = _unique("absent")
    rejection = _only(submit([_deployment(namespace=namespace)], kube_api_client))
    assert (rejection.kind, rejection.namespace, rejection.name) == ("Deployment", namespace, "web")
    assert (rejection.status, rejection.reason) == (404, "NotFound")
    assert f'namespaces "{namespace}" not found' in rejection.message


def test_port_out_of_range_is_rejected(kube_api_client):
    deployment = _deployment()
    _container(deployment)["ports"] = [{"containerPort": 70000}]
    rejection = _only(submit([deployment], kube_api_client))
    assert rejection.status == 422
    assert "must be between 1 and 65535, inclusive" in rejection.message


def test_misspelt_builtin_kind_is_rejected_not_set_aside(kube_api_client):
    deployment = _deployment()
    deployment["kind"] = "Deploymnet"
    checkable, not_checkable = split_checkable([deployment], kube_api_client)
    assert not_checkable == []
    rejection = _only(submit(checkable, kube_api_client))
    assert rejection.status == STATUS_NOT_SENT
    assert "does not serve kind Deploymnet in apps/v1" in rejection.message


def test_each_bad_object_is_reported_once_among_good_ones(kube_api_client):
    bad_name = _deployment(name="Bad_Name")
    bad_port = _deployment(name="bad-port")
    _container(bad_port)["ports"] = [{"containerPort": 0}]
    rejections = submit([_deployment(), bad_name, _deployment(name="web-2"), bad_port], kube_api_client)
    assert sorted(r.ref.name for r in rejections) == ["Bad_Name", "bad-port"]


# -- what this server cannot judge --------------------------------------------------------


def test_okd_route_is_not_checkable_here(kube_api_client):
    route = {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"to": {"kind": "Service", "name": "web"}},
    }
    scc = {"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints", "metadata": {"name": "eaf"}}
    result = check([_deployment(), route, scc], kube_api_client)
    assert result.rejections == []
    assert [(n.ref.kind, "OKD platform API" in n.why) for n in result.not_checkable] == [
        ("Route", True),
        ("SecurityContextConstraints", True),
    ]


def test_custom_resource_without_its_crd_is_not_checkable_here(kube_api_client):
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {},
    }
    checkable, not_checkable = split_checkable([monitor], kube_api_client)
    assert checkable == []
    assert "CustomResourceDefinition is neither among the submitted objects nor installed" in not_checkable[0].why


def test_custom_resource_with_its_crd_submitted_is_checkable(kube_api_client):
    group = f"{_unique('gadgets')}.eaf.test"
    gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "default"}}
    objects = [_crd(group, "Gadget", "gadgets"), gadget]
    checkable, not_checkable = split_checkable(copy.deepcopy(objects), kube_api_client)
    assert (len(checkable), not_checkable) == (2, [])

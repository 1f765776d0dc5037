"""The one-node Kubernetes tier: a real cluster on this machine runs pods, Services, DNS and dynamic volumes.

The cluster (tests/support/kube_node.py) is started once for this module and torn down by its last test, which
asserts that nothing is left: no process, namespace, veth, cgroup, mount or work dir. Needs the tools of
scripts/build-k8s-tools.sh and Debian's containerd (scripts/install-system-packages.sh); without them every test
here fails with what is missing.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from ipaddress import ip_address, ip_network

import pytest
from kubernetes import client as k8s_client
from kubernetes import utils as k8s_utils

from tests.apps.manifests import manifests_for
from tests.support.apiserver import REPO_ROOT, report_line
from tests.support.kube_node import LocalKubeCluster, missing_prerequisites
from tests.support.pod_diagnostics import describe_unhealthy_pods, diagnose_on_failure

pytestmark = [pytest.mark.real, pytest.mark.slow]

_WAIT_SECONDS = 120.0
# (Debian's busybox-static wget crashes with its own -T timeout option: the tests wrap it in `timeout`.)
# When this module's cluster started, for the whole-tier figure the teardown test reports.
_MODULE_CLOCK: dict[str, float] = {}


def _pinned(key: str) -> str:
    for line in (REPO_ROOT / "scripts" / "go" / "versions.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise AssertionError(f"{key} not pinned in scripts/go/versions.env")


def _host_iptables() -> str:
    return subprocess.run(["iptables-save"], capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalKubeCluster]:
    missing = missing_prerequisites()
    if missing:
        pytest.fail("the one-node cluster cannot start; missing:\n  " + "\n  ".join(missing), pytrace=False)
    began = time.monotonic()
    node = LocalKubeCluster().start()
    _MODULE_CLOCK["began"] = began
    timings = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in node.timings.items())
    report_line(request.config, f"\n[kube-node] started: {timings}; node {node.node_address}; logs {node.log_dir}")
    try:
        yield node
    finally:
        # The last test stops it and checks; this only matters when that test did not run.
        if node.work_dir is not None and node.work_dir.exists():
            node.stop()


@pytest.fixture(scope="module")
def api(cluster: LocalKubeCluster) -> Iterator[k8s_client.ApiClient]:
    client = cluster.api_client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def namespace(api: k8s_client.ApiClient) -> str:
    name = f"t-{uuid.uuid4().hex[:6]}"
    k8s_client.CoreV1Api(api).create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=name)))
    # The controller manager gives every new namespace its service account; pods need it.
    _wait_for(lambda: _exists(lambda: k8s_client.CoreV1Api(api).read_namespaced_service_account("default", name)))
    return name


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
        return True
    except k8s_client.ApiException as error:
        if error.status == 404:
            return False
        raise


def _wait_for(condition: Callable[[], bool], what: str = "condition", timeout: float = _WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s")


def _busybox(cluster: LocalKubeCluster) -> str:
    return cluster.images.busybox.ref


def _pod(name: str, image: str, script: str, restart: str = "Never", volumes: list | None = None) -> dict:
    container = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
    }
    spec: dict = {"restartPolicy": restart, "containers": [container], "terminationGracePeriodSeconds": 1}
    if volumes:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}} for claim in volumes]
        container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _run_to_completion(api: k8s_client.ApiClient, namespace: str, pod: dict) -> str:
    """Create the pod, wait until it has finished, assert it succeeded, return its log."""
    core = k8s_client.CoreV1Api(api)
    name = pod["metadata"]["name"]
    with diagnose_on_failure(api, [namespace]):
        core.create_namespaced_pod(namespace, pod)

        def finished() -> bool:
            return core.read_namespaced_pod(name, namespace).status.phase in ("Succeeded", "Failed")

        _wait_for(finished, f"pod {name} finished")
        log = core.read_namespaced_pod_log(name, namespace)
        phase = core.read_namespaced_pod(name, namespace).status.phase
        assert phase == "Succeeded", f"pod {name} ended {phase}; log:\n{log}"
    return log


# -- the node --------------------------------------------------------------------------------------------------


def test_node_is_ready_with_the_pinned_kubelet_and_debian_containerd(cluster, api):
    node = k8s_client.CoreV1Api(api).read_node(cluster.options.node_name)
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "True", ready.message
    assert node.status.node_info.kubelet_version == _pinned("KUBERNETES_VERSION")
    assert node.status.node_info.kube_proxy_version in ("", _pinned("KUBERNETES_VERSION"))
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.6.")
    assert node.spec.pod_cidr == cluster.options.network.node_pod_cidr
    assert [a.address for a in node.status.addresses if a.type == "InternalIP"] == [cluster.node_address]


def test_node_network_stays_out_of_this_hosts_iptables(cluster):
    # kube-proxy and the CNI bridge program the node's own network namespace only.
    rules = _host_iptables()
    assert "KUBE-" not in rules
    assert "CNI-" not in rules
    assert cluster.options.network.bridge not in os.listdir("/sys/class/net")


def test_startup_is_fast_and_its_memory_is_reported(cluster, request):
    rss = cluster.rss_bytes()
    report_line(
        request.config,
        "[kube-node] RSS MiB: " + ", ".join(f"{name} {size / 2**20:.0f}" for name, size in sorted(rss.items())),
    )
    assert cluster.timings["node_ready"] < 120, cluster.timings
    assert rss["total"] > 0


# -- workloads ---------------------------------------------------------------------------------------------------


def _web_deployment(image: str) -> dict:
    script = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "httpd",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", script],
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def web(cluster, api, namespace) -> str:
    apps = k8s_client.AppsV1Api(api)
    with diagnose_on_failure(api, [namespace]):
        apps.create_namespaced_deployment(namespace, _web_deployment(_busybox(cluster)))
        k8s_client.CoreV1Api(api).create_namespaced_service(
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        )
        _wait_for(
            lambda: (apps.read_namespaced_deployment("web", namespace).status.available_replicas or 0) == 2,
            "deployment web: 2 available replicas",
        )
    return "web"


def test_deployment_runs_two_replicas_on_the_pod_network(cluster, api, namespace, web):
    pods = k8s_client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app=web").items
    running = [pod for pod in pods if pod.status.phase == "Running"]
    assert len(running) == 2
    pod_net = ip_network(cluster.options.network.node_pod_cidr)
    ips = {pod.status.pod_ip for pod in running}
    assert len(ips) == 2 and all(ip_address(ip) in pod_net for ip in ips), ips


def test_service_is_reached_from_another_pod_by_dns_name(cluster, api, namespace, web):
    domain = cluster.options.network.cluster_domain
    script = (
        f"nslookup web.{namespace}.svc.{domain} && "
        f"timeout 20 wget -q -O- http://web.{namespace}.svc.{domain}/ && "
        # The short name works through the search path kubelet writes into the pod's resolv.conf.
        "timeout 20 wget -q -O- http://web/"
    )
    log = _run_to_completion(api, namespace, _pod("client", _busybox(cluster), script))
    service_ip = k8s_client.CoreV1Api(api).read_namespaced_service("web", namespace).spec.cluster_ip
    assert service_ip in log
    assert log.count("hello-from-web-") == 2, log


def test_node_port_is_reached_from_this_host_through_the_node_address(cluster, api, namespace, web):
    port = k8s_client.CoreV1Api(api).read_namespaced_service("web", namespace).spec.ports[0].node_port
    with urllib.request.urlopen(f"http://{cluster.node_address}:{port}/", timeout=10) as response:
        assert response.read().decode().startswith("hello-from-web-")


def test_claim_is_bound_by_the_default_storage_class_and_written_by_a_pod(cluster, api, namespace):
    core = k8s_client.CoreV1Api(api)
    classes = k8s_client.StorageV1Api(api).list_storage_class().items
    default = [
        sc.metadata.name
        for sc in classes
        if (sc.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert default == ["local-path"]
    core.create_namespaced_persistent_volume_claim(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "home"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    script = "echo written-by-$(hostname) > /data/proof && cat /data/proof"
    log = _run_to_completion(api, namespace, _pod("writer", _busybox(cluster), script, volumes=["home"]))
    assert log.strip() == "written-by-writer"

    claim = core.read_namespaced_persistent_volume_claim("home", namespace)
    assert claim.status.phase == "Bound"
    volume = core.read_persistent_volume(claim.spec.volume_name)
    assert volume.spec.storage_class_name == "local-path"
    assert volume.metadata.annotations["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
    # The provisioner made the volume's directory on the node; the pod's write is there.
    proofs = list(cluster.local_path_dir.glob("*/proof"))
    assert [p.read_text().strip() for p in proofs] == ["written-by-writer"]


def _stack_local_path_objects(cluster: LocalKubeCluster, volume_dir) -> list[dict]:
    """The dev stack's own eaf-local objects (infra/apps/provisioners.py) as the stack builds them, but with this
    node's images (the same pinned local-path-provisioner, built from its Go module) and volume directory."""
    wanted = {("Namespace", "eaf-storage"), ("ServiceAccount", "local-path-provisioner"),
              ("ClusterRole", "eaf-storage-privileged-scc"), ("RoleBinding", "local-path-provisioner-privileged-scc"),
              ("ClusterRole", "eaf-local-path-provisioner"), ("ClusterRoleBinding", "eaf-local-path-provisioner"),
              ("Role", "local-path-provisioner"), ("RoleBinding", "local-path-provisioner"),
              ("ConfigMap", "local-path-config"), ("Deployment", "local-path-provisioner"),
              ("StorageClass", "eaf-local")}
    objects = [copy.deepcopy(m) for m in manifests_for("dev") if (m["kind"], m["metadata"]["name"]) in wanted]
    assert sorted((m["kind"], m["metadata"]["name"]) for m in objects) == sorted(wanted)
    helper = cluster.images.busybox.ref
    for obj in objects:
        if obj["kind"] == "Deployment":
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            container["image"] = cluster.images.local_path_provisioner.ref
            command = container["command"]
            command[command.index("--helper-image") + 1] = helper
        if obj["kind"] == "ConfigMap":
            config = json.loads(obj["data"]["config.json"])
            assert config["nodePathMap"][0]["paths"] == ["/var/mnt/eaf-local"]
            config["nodePathMap"][0]["paths"] = [str(volume_dir)]
            obj["data"]["config.json"] = json.dumps(config)
            pod = json.loads(obj["data"]["helperPod.yaml"])
            pod["spec"]["containers"][0]["image"] = helper
            obj["data"]["helperPod.yaml"] = json.dumps(pod)
    return objects


def _scale(api: k8s_client.ApiClient, namespace: str, name: str, replicas: int) -> None:
    apps = k8s_client.AppsV1Api(api)
    apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})
    _wait_for(lambda: (apps.read_namespaced_deployment(name, namespace).status.available_replicas or 0) == replicas,
              f"{namespace}/{name} at {replicas} replicas")


def test_a_claim_of_the_stacks_eaf_local_class_binds_through_the_stacks_own_provisioner(cluster, api, namespace):
    core = k8s_client.CoreV1Api(api)
    volume_dir = cluster.local_path_dir.parent / "eaf-local"
    volume_dir.mkdir()
    objects = _stack_local_path_objects(cluster, volume_dir)
    # The node's own add-on answers to the same provisioner name: it is stopped, so only the stack's can bind.
    _scale(api, "local-path-storage", "local-path-provisioner", 0)
    try:
        for obj in objects:
            k8s_utils.create_from_dict(api, obj)
        _wait_for(lambda: (k8s_client.AppsV1Api(api).read_namespaced_deployment(
            "local-path-provisioner", "eaf-storage").status.available_replicas or 0) == 1,
            "the stack's local-path-provisioner available")
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "db"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "eaf-local",
                          "resources": {"requests": {"storage": "1Gi"}}}}
        core.create_namespaced_persistent_volume_claim(namespace, claim)
        script = "echo db-on-$(hostname) > /data/proof && cat /data/proof"
        with diagnose_on_failure(api, [namespace, "eaf-storage"]):
            log = _run_to_completion(api, namespace, _pod("db-writer", _busybox(cluster), script, volumes=["db"]))
        assert log.strip() == "db-on-db-writer"
        bound = core.read_namespaced_persistent_volume_claim("db", namespace)
        assert bound.status.phase == "Bound"
        volume = core.read_persistent_volume(bound.spec.volume_name)
        assert volume.spec.storage_class_name == "eaf-local"
        assert volume.spec.persistent_volume_reclaim_policy == "Retain", "deleting the claim keeps the database"
        assert [p.read_text().strip() for p in volume_dir.glob("*/proof")] == ["db-on-db-writer"]
    finally:
        core.delete_namespaced_pod("db-writer", namespace, grace_period_seconds=0)
        _wait_for(lambda: not _exists(lambda: core.read_namespaced_pod("db-writer", namespace)), "db-writer gone")
        core.delete_namespaced_persistent_volume_claim("db", namespace)
        for pv in core.list_persistent_volume().items:
            if pv.spec.storage_class_name == "eaf-local":
                core.delete_persistent_volume(pv.metadata.name)
        rbac, storage = k8s_client.RbacAuthorizationV1Api(api), k8s_client.StorageV1Api(api)
        storage.delete_storage_class("eaf-local")
        rbac.delete_cluster_role_binding("eaf-local-path-provisioner")
        rbac.delete_cluster_role("eaf-local-path-provisioner")
        rbac.delete_cluster_role("eaf-storage-privileged-scc")
        core.delete_namespace("eaf-storage")
        _wait_for(lambda: not _exists(lambda: core.read_namespace("eaf-storage")), "namespace eaf-storage gone")
        _scale(api, "local-path-storage", "local-path-provisioner", 1)
        shutil.rmtree(volume_dir)


# -- diagnostics ---------------------------------------------------------------------------------------------------


def test_a_failing_pods_events_and_log_reach_the_test_output(cluster, api, namespace, request):
    core = k8s_client.CoreV1Api(api)
    core.create_namespaced_pod(
        namespace, _pod("crasher", _busybox(cluster), "echo crash-marker-42 >&2; exit 3", restart="Always")
    )

    def backing_off() -> bool:
        statuses = core.read_namespaced_pod("crasher", namespace).status.container_statuses or []
        return any(s.state.waiting is not None and s.state.waiting.reason == "CrashLoopBackOff" for s in statuses)

    _wait_for(backing_off, "crasher in CrashLoopBackOff")
    with pytest.raises(AssertionError) as failure, diagnose_on_failure(api, [namespace]):
        raise AssertionError("the app did not come up")
    dump = "\n".join(failure.value.__notes__)
    report_line(request.config, f"\n[kube-node] what a failing app's test prints:\n{dump}")
    assert f"pod {namespace}/crasher" in dump
    assert "crash-marker-42" in dump  # its log
    assert "exit 3" in dump  # its last termination
    assert "BackOff" in dump  # its events
    # Healthy pods are left out.
    assert "pod " + namespace + "/web-" not in describe_unhealthy_pods(api, [namespace])


def test_pinned_addon_versions_are_what_the_node_runs(cluster):
    # Read from the image names the cluster built (they come from the binaries' own --version output).
    assert cluster.images.coredns.ref.endswith(":" + _pinned("COREDNS_VERSION"))
    assert cluster.images.local_path_provisioner.ref.endswith(":" + _pinned("LOCAL_PATH_PROVISIONER_VERSION"))
    assert json.loads(cluster.images.pause.archive.with_suffix(".json").read_text())["ref"] == cluster.images.pause.ref


# -- teardown (keep last: it stops the module's cluster) ------------------------------------------------------------


def test_teardown_leaves_nothing_behind(cluster, request):
    pids = cluster.pids()
    namespace_pids = cluster.namespaces.pids()
    cgroup = cluster.cgroup_root
    veth = cluster.namespaces.link.host_ifname
    work_dir = cluster.work_dir
    began = time.monotonic()
    cluster.stop()
    stopped = time.monotonic() - began
    total = time.monotonic() - _MODULE_CLOCK.get("began", began)
    report_line(request.config, f"\n[kube-node] teardown {stopped:.1f}s; cluster life incl. tests {total:.1f}s")

    assert cluster.leftovers() == []
    for pid in set(pids.values()) | set(namespace_pids):
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), f"pid {pid} still runs"
    assert not os.path.exists(f"/sys/class/net/{veth}")
    assert not any(os.path.exists(os.path.join(h.path, cgroup.lstrip("/"))) for h in os.scandir("/sys/fs/cgroup"))
    assert str(work_dir) not in open("/proc/self/mountinfo").read()
    assert not work_dir.exists()
    assert "KUBE-" not in _host_iptables()


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

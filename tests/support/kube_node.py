"""A real one-node Kubernetes on this machine, started and stopped by the tests.

`LocalKubeCluster().start()` runs, each as its own process with its log in the work dir:
etcd, kube-apiserver (tests/support/apiserver.py), kube-controller-manager, kube-scheduler, containerd (Debian),
kubelet and kube-proxy — all built from the pinned k8s.io/kubernetes module by scripts/build-k8s-tools.sh — then
the add-ons: CoreDNS as the cluster DNS and local-path-provisioner behind the default StorageClass `local-path`.
It returns when the node is Ready and both add-ons are available.

Isolation (tests/support/node_namespaces.py): every process runs inside a network + mount namespace of the
node's own; this host gets one veth with a /30 and nothing else — no bridge, no iptables rule, no route, no mount.
The work dir holds all state (.work/kube-node/<id>/), the logs are kept in .work/kube-node/logs/<id>/ (the last
few runs). Containers run under the cgroup root /eaf-kn-<id> (cgroupfs driver: no systemd here; cgroup v1 is
allowed explicitly, kubelet 1.37 refuses it by default). `stop()` kills every process by PID (components,
then every process left in the node's cgroups and namespaces), removes the cgroups and the work dir, and
`leftovers()` reports anything that survived — the real tier asserts it is empty.

kubelet insists on host-wide kernel tunables (kernel.panic=10, kernel.panic_on_oops=1, vm.overcommit_memory=1)
and sets them when they differ. This machine is shared, so the cluster does not let it: inside the node's mount
namespace the differing /proc/sys files are covered by files holding the values kubelet wants, which it reads
and then leaves alone. Nothing else is masked, and the real values stay untouched.

Use from a conftest.py and a test:

    from tests.support.kube_node import kube_cluster  # noqa: F401  (session fixture)

    def test_hub(kube_cluster):
        kube_cluster.import_images([build_image(hub_spec)])          # tests/support/images.py
        with kube_cluster.api_client() as api, diagnose_on_failure(api, ["hub"]):
            ...                                                      # kubeconfig: kube_cluster.kubeconfig_path
        # From this host, Services are reached as NodePorts: http://{kube_cluster.node_address}:{node_port}/
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import utils as k8s_utils

from infra.templates import render
from tests.support import images as image_tools
from tests.support.apiserver import (
    BIN_DIR,
    REPO_ROOT,
    ApiServerSettings,
    ApiServerStartError,
    LocalApiServer,
    report_line,
)
from tests.support.apiserver_pki import CertPair, ServingNames, issue_client_cert, issue_serving_cert
from tests.support.node_images import NodeImages, build_node_images
from tests.support.node_namespaces import NodeNamespaces, kill_and_wait
from tests.support.pod_diagnostics import describe_unhealthy_pods

WORK_ROOT = REPO_ROOT / ".work" / "kube-node"
LOG_ROOT = WORK_ROOT / "logs"
SHARE_DIR = REPO_ROOT / ".tools" / "share"
TEMPLATES = Path(__file__).with_name("kube_node_templates")
VERSIONS_ENV = REPO_ROOT / "scripts" / "go" / "versions.env"
BUILD_HINT = "run scripts/build-k8s-tools.sh (or scripts/setup.sh)"
CGROUP_MOUNT = Path("/sys/fs/cgroup")
CNI_BIN_DIR = Path("/usr/lib/cni")
# Debian's tools the node needs (scripts/install-system-packages.sh).
HOST_TOOLS = ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "unshare", "nsenter", "ip", "sysctl")

_KEEP_LOG_RUNS = 5
_STOP_GRACE_SECONDS = 10.0
_LOG_TAIL_LINES = 30
# What kubelet's container manager wants of the host kernel (pkg/kubelet/cm: setupKernelTunables).
_KUBELET_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


class KubeClusterError(RuntimeError):
    """The one-node cluster could not start, or did not stop cleanly."""


@dataclass(frozen=True)
class ClusterNetwork:
    """Addresses inside the node's network namespace: they exist nowhere else, so every cluster can use the same."""

    cluster_cidr: str = "10.244.0.0/16"
    node_pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    kubernetes_service_ip: str = "10.96.0.1"
    dns_service_ip: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    bridge: str = "cni0"
    apiserver_port: int = 6443


@dataclass(frozen=True)
class ClusterOptions:
    node_name: str = "eaf-node"
    network: ClusterNetwork = field(default_factory=ClusterNetwork)
    # CoreDNS + local-path-provisioner (default StorageClass); without them the node still runs pods.
    addons: bool = True
    ready_timeout: float = 240.0


@dataclass
class _Component:
    name: str
    process: subprocess.Popen
    log_path: Path


def _read_pin(key: str) -> str:
    for line in VERSIONS_ENV.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise KubeClusterError(f"{key} is not pinned in {VERSIONS_ENV}")


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def _render(template: str, **values: object) -> str:
    return render(TEMPLATES, template, **values)


def missing_prerequisites(bin_dir: Path = BIN_DIR) -> list[str]:
    """What this machine lacks to run the cluster, each with the command that provides it."""
    missing = []
    for name in (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "coredns",
        "local-path-provisioner",
        "pause",
    ):
        if not (bin_dir / name).is_file():
            missing.append(f"{bin_dir / name}: {BUILD_HINT}")
    if not (SHARE_DIR / "local-path-provisioner" / "local-path-storage.yaml").is_file():
        missing.append(f"{SHARE_DIR}/local-path-provisioner/local-path-storage.yaml: {BUILD_HINT}")
    for tool in HOST_TOOLS:
        if shutil.which(tool) is None:
            missing.append(f"{tool}: run scripts/install-system-packages.sh")
    for plugin in ("bridge", "host-local", "loopback", "portmap"):
        if not (CNI_BIN_DIR / plugin).is_file():
            missing.append(f"{CNI_BIN_DIR / plugin}: run scripts/install-system-packages.sh")
    if os.geteuid() != 0:
        missing.append("root: the node needs namespaces, cgroups and mounts")
    return missing


def _write_kubeconfig(path: Path, server: str, ca_cert: Path, client: CertPair) -> Path:
    # JSON is valid YAML, and every component and the Python client read it.
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": "user", "user": {"client-certificate": str(client.cert), "client-key": str(client.key)}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "user"}}],
        "current-context": "local",
    }
    path.write_text(json.dumps(kubeconfig, indent=2))
    return path


class LocalKubeCluster:
    """etcd, the control plane, containerd, kubelet and kube-proxy of one node, in the node's own namespaces."""

    def __init__(self, options: ClusterOptions | None = None, bin_dir: Path = BIN_DIR, work_root: Path = WORK_ROOT):
        self.options = options or ClusterOptions()
        self._bin_dir = bin_dir
        self._work_root = work_root
        self.node_id = secrets.token_hex(4)
        self.work_dir: Path | None = None
        self.log_dir: Path | None = None
        self.namespaces: NodeNamespaces | None = None
        self.apiserver: LocalApiServer | None = None
        self.images: NodeImages | None = None
        self._components: list[_Component] = []
        self._log_files: list = []
        self.timings: dict[str, float] = {}

    # -- public API -----------------------------------------------------------------------------------------------

    @property
    def cgroup_root(self) -> str:
        return f"/eaf-kn-{self.node_id}"

    @property
    def kubeconfig_path(self) -> Path:
        return self._require_apiserver().kubeconfig_path

    @property
    def containerd_socket(self) -> Path:
        return self._require_work_dir() / "containerd" / "containerd.sock"

    @property
    def node_address(self) -> str:
        return self._require_namespaces().link.node_address

    @property
    def local_path_dir(self) -> Path:
        """Where local-path-provisioner creates the volumes' directories."""
        return self._require_work_dir() / "local-path"

    def api_client(self) -> k8s_client.ApiClient:
        """A fresh admin ApiClient (system:masters); the caller closes it."""
        return k8s_config.new_client_from_config(config_file=str(self.kubeconfig_path))

    def start(self) -> LocalKubeCluster:
        if self.work_dir is not None:
            raise RuntimeError("LocalKubeCluster is already started")
        missing = missing_prerequisites(self._bin_dir)
        if missing:
            raise KubeClusterError("the one-node cluster cannot start; missing:\n  " + "\n  ".join(missing))
        began = time.monotonic()
        self._work_root.mkdir(parents=True, exist_ok=True)
        self.work_dir = self._work_root / self.node_id
        self.work_dir.mkdir()
        self.log_dir = LOG_ROOT / self.node_id
        self.log_dir.mkdir(parents=True)
        _prune_old_logs(self.log_dir)
        socket = str(self.containerd_socket)
        if len(socket) > 100:
            raise KubeClusterError(
                f"containerd socket path {socket} has {len(socket)} bytes; why: unix socket paths are limited to "
                "108 bytes; fix: run from a checkout with a shorter path"
            )
        atexit.register(self.stop)
        try:
            self.images = build_node_images(self._bin_dir, _read_pin("LOCAL_PATH_PROVISIONER_VERSION"))
            self.timings["images_built"] = time.monotonic() - began
            # Assigned before create() so that a half-made node is still torn down.
            self.namespaces = NodeNamespaces(self.node_id)
            self.namespaces.create()
            self._prepare_node_netns()
            self._mask_kubelet_tunables()
            self._start_containerd()
            # The images go into containerd while the API server comes up (it takes the longer).
            with ThreadPoolExecutor(max_workers=1) as pool:
                imported = pool.submit(self._import_node_images)
                try:
                    self._start_apiserver()
                finally:
                    imported.result()
            self.timings["apiserver_ready"] = time.monotonic() - began
            self._start_control_plane()
            self._create_cgroup_root()
            self._start_node_agents()
            self._wait_node_ready(began)
            self.timings["node_ready"] = time.monotonic() - began
            self._wait_default_service_account(began)
            if self.options.addons:
                self._deploy_addons()
                self._wait_addons(began)
                self.timings["addons_ready"] = time.monotonic() - began
        except BaseException as error:
            detail = self._startup_report()
            try:
                self.stop()
            except KubeClusterError as teardown:
                detail += f"\n(and the teardown after the failed start: {teardown})"
            if isinstance(error, KubeClusterError | ApiServerStartError | image_tools.ImageImportError | TimeoutError):
                raise KubeClusterError(f"{error}\n{detail}") from error
            raise
        self.timings["startup"] = time.monotonic() - began
        return self

    def import_images(self, built: tuple[image_tools.BuiltImage, ...] | list[image_tools.BuiltImage]) -> None:
        """Load locally built images into the node's containerd (namespace k8s.io, what kubelet sees)."""
        for image in built:
            image_tools.import_image(image, self.containerd_socket)

    def stop(self) -> None:
        """Stop everything by PID and remove all state; raises if anything is left behind."""
        atexit.unregister(self.stop)
        problems: list[str] = []
        # Node agents first, so nothing restarts containers while they are killed; the API server last.
        for component in reversed(self._components):
            self._stop_component(component, problems)
        self._components = []
        self._kill_cgroup_members()
        if self.apiserver is not None:
            self.apiserver.stop()
        if self.namespaces is not None:
            try:
                self.namespaces.destroy()
            except Exception as error:
                problems.append(str(error))
        for handle in self._log_files:
            handle.close()
        self._log_files = []
        problems.extend(self._remove_cgroups())
        if self.work_dir is not None and self.work_dir.exists():
            shutil.rmtree(self.work_dir, ignore_errors=True)
            if self.work_dir.exists():
                problems.append(f"work dir {self.work_dir} could not be removed")
        if problems:
            raise KubeClusterError("teardown left things behind:\n  " + "\n  ".join(problems))

    def leftovers(self) -> list[str]:
        """Anything the cluster left on this machine after stop(): processes, namespaces, veth, cgroups, mounts."""
        problems = list(self.namespaces.leftovers()) if self.namespaces is not None else []
        problems.extend(f"cgroup {path}" for path in self._cgroup_dirs())
        if self.work_dir is not None:
            if self.work_dir.exists():
                problems.append(f"work dir {self.work_dir}")
            mounts = Path("/proc/self/mountinfo").read_text().splitlines()
            problems.extend(f"mount {line.split()[4]}" for line in mounts if str(self.work_dir) in line)
        return problems

    def pids(self) -> dict[str, int]:
        found = {component.name: component.process.pid for component in self._components}
        if self.apiserver is not None:
            found.update(self.apiserver.pids)
        return found

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each component, and of everything in the node (containers included) as `total`."""
        by_name = {name: _rss(pid) for name, pid in self.pids().items()}
        everything = set(self.namespaces.pids() if self.namespaces is not None else []) | set(self._cgroup_pids())
        by_name["total"] = sum(_rss(pid) for pid in everything)
        return by_name

    def component_logs(self) -> dict[str, Path]:
        logs = {component.name: component.log_path for component in self._components}
        if self.apiserver is not None:
            logs["etcd"] = self.apiserver.etcd_log
            logs["kube-apiserver"] = self.apiserver.apiserver_log
        return logs

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- start-up steps -------------------------------------------------------------------------------------------

    def _require_work_dir(self) -> Path:
        if self.work_dir is None:
            raise RuntimeError("LocalKubeCluster is not started")
        return self.work_dir

    def _require_namespaces(self) -> NodeNamespaces:
        if self.namespaces is None or self.namespaces.link is None:
            raise RuntimeError("LocalKubeCluster is not started")
        return self.namespaces

    def _require_apiserver(self) -> LocalApiServer:
        if self.apiserver is None:
            raise RuntimeError("LocalKubeCluster is not started")
        return self.apiserver

    def _prepare_node_netns(self) -> None:
        ns = self._require_namespaces()
        # Per network namespace: the node's, never this host's. Bridged pod-to-pod replies must pass iptables so
        # Service DNAT is undone; routing pod traffic to the node address needs forwarding.
        ns.sysctl("net.bridge.bridge-nf-call-iptables", "1")
        ns.sysctl("net.ipv4.ip_forward", "1")

    def _mask_kubelet_tunables(self) -> None:
        mask_dir = self._require_work_dir() / "kubelet-tunables"
        mask_dir.mkdir()
        for name, wanted in _KUBELET_TUNABLES.items():
            path = Path("/proc/sys") / name
            if path.read_text().strip() == wanted:
                continue
            mask = mask_dir / name.replace("/", ".")
            mask.write_text(f"{wanted}\n")
            self._run_in_node(["mount", "--bind", "-o", "ro", str(mask), str(path)])

    def _run_in_node(self, argv: list[str]) -> str:
        result = subprocess.run(
            self._require_namespaces().enter_argv(argv), capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise KubeClusterError(f"{' '.join(argv)} (in the node) failed ({result.returncode}): {result.stderr}")
        return result.stdout

    def _spawn(self, name: str, argv: list[str]) -> _Component:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("wb")
        self._log_files.append(log)
        process = subprocess.Popen(
            self._require_namespaces().enter_argv(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        component = _Component(name, process, log_path)
        self._components.append(component)
        return component

    def _start_containerd(self) -> None:
        work = self._require_work_dir()
        net = self.options.network
        cni_conf = work / "cni" / "net.d"
        cni_conf.mkdir(parents=True)
        (cni_conf / "10-eaf-node.conflist").write_text(
            _render("cni.conflist.j2", bridge=net.bridge, pod_subnet=net.node_pod_cidr, ipam_dir=work / "cni" / "ipam")
        )
        config = work / "containerd" / "config.toml"
        config.parent.mkdir()
        config.write_text(
            _render(
                "containerd.toml.j2",
                root_dir=work / "containerd" / "root",
                state_dir=work / "containerd" / "state",
                opt_dir=work / "containerd" / "opt",
                socket=self.containerd_socket,
                sandbox_image=self.images.pause.ref,
                runc=shutil.which("runc"),
                cni_bin_dir=CNI_BIN_DIR,
                cni_conf_dir=cni_conf,
            )
        )
        self._spawn("containerd", ["containerd", "--config", str(config)])

    def _import_node_images(self) -> None:
        self._wait_containerd()
        self.import_images(self.images.all())

    def _wait_containerd(self) -> None:
        deadline = time.monotonic() + 60
        component = self._component("containerd")
        while time.monotonic() < deadline:
            self._check_alive(component)
            if self.containerd_socket.is_socket():
                try:
                    image_tools.imported_refs(self.containerd_socket)
                    return
                except image_tools.ImageImportError:
                    pass
            time.sleep(0.1)
        raise KubeClusterError("containerd did not answer on its socket within 60 s")

    def _start_apiserver(self) -> None:
        ns = self._require_namespaces()
        net = self.options.network
        settings = ApiServerSettings(
            launcher=ns.launcher,
            bind_address="0.0.0.0",
            advertise_address=ns.link.node_address,
            secure_port=net.apiserver_port,
            etcd_client_port=2379,
            etcd_peer_port=2380,
            service_cidr=net.service_cidr,
            serving_names=ServingNames(
                ips=(ns.link.node_address, net.kubernetes_service_ip),
                dns=(
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    f"kubernetes.default.svc.{net.cluster_domain}",
                ),
            ),
            with_nodes=True,
        )
        apiserver_dir = self._require_work_dir() / "apiserver"
        apiserver_dir.mkdir()
        self.apiserver = LocalApiServer(
            bin_dir=self._bin_dir,
            ready_timeout=self.options.ready_timeout,
            settings=settings,
            work_dir=apiserver_dir,
            log_dir=self.log_dir,
        )
        self.apiserver.start()

    def _client_kubeconfig(self, name: str, user: str, groups: tuple[str, ...] = ()) -> Path:
        pki = self._require_apiserver().pki
        pair = issue_client_cert(pki, name, user, groups)
        return _write_kubeconfig(self._require_work_dir() / f"{name}.kubeconfig", self.apiserver.url, pki.ca_cert, pair)

    def _start_control_plane(self) -> None:
        pki = self._require_apiserver().pki
        net = self.options.network
        kcm = self._client_kubeconfig("kube-controller-manager", "system:kube-controller-manager")
        self._spawn(
            "kube-controller-manager",
            [
                str(self._bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                # One service account per controller, as kubeadm runs it, so RBAC is exercised for real.
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--allocate-node-cidrs=true",
                f"--cluster-cidr={net.cluster_cidr}",
                "--node-cidr-mask-size=24",
                f"--service-cluster-ip-range={net.service_cidr}",
                "--controllers=*,bootstrapsigner,tokencleaner",
            ],
        )
        scheduler = self._client_kubeconfig("kube-scheduler", "system:kube-scheduler")
        self._spawn(
            "kube-scheduler",
            [
                str(self._bin_dir / "kube-scheduler"),
                f"--kubeconfig={scheduler}",
                f"--authentication-kubeconfig={scheduler}",
                f"--authorization-kubeconfig={scheduler}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
            ],
        )

    def _start_node_agents(self) -> None:
        work = self._require_work_dir()
        pki = self._require_apiserver().pki
        net = self.options.network
        node = self.options.node_name
        kubelet_kubeconfig = self._client_kubeconfig("kubelet", f"system:node:{node}", ("system:nodes",))
        serving = issue_serving_cert(pki, "kubelet-serving", ServingNames(ips=(self.node_address,), dns=(node,)))
        kubelet_config = work / "kubelet.yaml"
        kubelet_config.write_text(
            _render(
                "kubelet.yaml.j2",
                node_address=self.node_address,
                serving_cert=serving.cert,
                serving_key=serving.key,
                ca_cert=pki.ca_cert,
                containerd_socket=self.containerd_socket,
                cgroup_root=self.cgroup_root,
                dns_service_ip=net.dns_service_ip,
                cluster_domain=net.cluster_domain,
                pod_logs_dir=work / "pod-logs",
            )
        )
        self._spawn(
            "kubelet",
            [
                str(self._bin_dir / "kubelet"),
                f"--config={kubelet_config}",
                f"--kubeconfig={kubelet_kubeconfig}",
                f"--root-dir={work / 'kubelet'}",
                f"--hostname-override={node}",
                f"--node-ip={self.node_address}",
                "--v=1",
            ],
        )
        proxy_kubeconfig = self._client_kubeconfig("kube-proxy", "system:kube-proxy")
        proxy_config = work / "kube-proxy.yaml"
        proxy_config.write_text(
            _render(
                "kube-proxy.yaml.j2",
                kubeconfig=proxy_kubeconfig,
                node_name=node,
                node_address=self.node_address,
                cluster_cidr=net.cluster_cidr,
            )
        )
        self._spawn("kube-proxy", [str(self._bin_dir / "kube-proxy"), f"--config={proxy_config}"])

    def _create_cgroup_root(self) -> None:
        # kubelet refuses a cgroup root that does not exist; it makes everything below it itself.
        for hierarchy in sorted(CGROUP_MOUNT.iterdir()):
            if not (hierarchy / "cgroup.procs").is_file():
                continue
            root = hierarchy / self.cgroup_root.lstrip("/")
            root.mkdir()
            # A new cpuset cgroup (v1) has no CPUs or memory nodes until given its parent's.
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (hierarchy / name).is_file():
                    (root / name).write_text((hierarchy / name).read_text())

    def _component(self, name: str) -> _Component:
        return next(component for component in self._components if component.name == name)

    def _check_alive(self, component: _Component) -> None:
        code = component.process.poll()
        if code is not None:
            raise KubeClusterError(f"{component.name} exited with status {code}")

    def _check_all_alive(self) -> None:
        for component in self._components:
            self._check_alive(component)

    def _wait(self, what: str, began: float, probe) -> None:
        last = "no answer yet"
        while time.monotonic() - began < self.options.ready_timeout:
            self._check_all_alive()
            try:
                done, last = probe()
                if done:
                    return
            except (OSError, ValueError, KeyError, k8s_client.ApiException) as error:
                last = str(error)
            time.sleep(0.25)
        raise KubeClusterError(
            f"{what} not reached after {time.monotonic() - began:.0f}s (timeout {self.options.ready_timeout:.0f}s): "
            f"{last}"
        )

    def _wait_node_ready(self, began: float) -> None:
        def probe() -> tuple[bool, str]:
            status, body = self.apiserver.get(f"/api/v1/nodes/{self.options.node_name}")
            if status != 200:
                return False, f"GET node: HTTP {status}"
            conditions = {c["type"]: c for c in json.loads(body)["status"].get("conditions", [])}
            ready = conditions.get("Ready", {})
            return ready.get("status") == "True", f"Ready={ready.get('status')}: {ready.get('message', '')}"

        self._wait(f"node {self.options.node_name} Ready", began, probe)

    def _wait_default_service_account(self, began: float) -> None:
        # Pods are refused until the controller manager has made the namespace's service account.
        def probe() -> tuple[bool, str]:
            status, _ = self.apiserver.get("/api/v1/namespaces/default/serviceaccounts/default")
            return status == 200, f"GET serviceaccount default: HTTP {status}"

        self._wait("service account default/default", began, probe)

    def _deploy_addons(self) -> None:
        net = self.options.network
        documents = list(
            yaml.safe_load_all(
                _render(
                    "coredns.yaml.j2",
                    cluster_domain=net.cluster_domain,
                    dns_service_ip=net.dns_service_ip,
                    image=self.images.coredns.ref,
                )
            )
        )
        documents.extend(
            local_path_storage_documents(
                SHARE_DIR / "local-path-provisioner" / "local-path-storage.yaml",
                provisioner_image=self.images.local_path_provisioner.ref,
                helper_image=self.images.busybox.ref,
                volume_dir=self.local_path_dir,
            )
        )
        self.local_path_dir.mkdir()
        with self.api_client() as api:
            for document in documents:
                k8s_utils.create_from_dict(api, document)

    def _wait_addons(self, began: float) -> None:
        wanted = (("kube-system", "coredns"), ("local-path-storage", "local-path-provisioner"))

        def probe() -> tuple[bool, str]:
            waiting = []
            for namespace, name in wanted:
                status, body = self.apiserver.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
                available = status == 200 and json.loads(body).get("status", {}).get("availableReplicas", 0) >= 1
                if not available:
                    waiting.append(f"{namespace}/{name}")
            return not waiting, f"not yet available: {', '.join(waiting)}"

        try:
            self._wait("add-ons available", began, probe)
        except KubeClusterError as error:
            with self.api_client() as api:
                dump = describe_unhealthy_pods(api, namespaces=[namespace for namespace, _ in wanted])
            raise KubeClusterError(f"{error}\n{dump}") from error

    def _startup_report(self) -> str:
        lines = [f"(logs kept in {self.log_dir})"]
        for name, path in self.component_logs().items():
            lines.append(f"--- tail of {name} ({path}) ---\n{_tail(path)}")
        return "\n".join(lines)

    # -- teardown ---------------------------------------------------------------------------------------------

    def _stop_component(self, component: _Component, problems: list[str]) -> None:
        process = component.process
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            try:
                process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                problems.append(f"{component.name} (pid {process.pid}) survived SIGKILL")

    def _cgroup_dirs(self) -> list[Path]:
        """Every directory of the node's cgroup root in every mounted hierarchy, deepest first."""
        found = []
        for hierarchy in sorted(CGROUP_MOUNT.iterdir()) if CGROUP_MOUNT.is_dir() else []:
            root = hierarchy / self.cgroup_root.lstrip("/")
            if root.is_dir():
                found.extend(Path(path) for path, _, _ in os.walk(root))
        return sorted(found, key=lambda path: len(path.parts), reverse=True)

    def _cgroup_pids(self) -> list[int]:
        pids: set[int] = set()
        for directory in self._cgroup_dirs():
            try:
                pids.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
            except (FileNotFoundError, ProcessLookupError):
                continue
        return sorted(pids)

    def _kill_cgroup_members(self) -> None:
        # Containers do not share the node's namespaces (each has its own), but all live in its cgroups.
        for _ in range(5):
            members = self._cgroup_pids()
            if not members:
                return
            kill_and_wait(members)

    def _remove_cgroups(self) -> list[str]:
        problems = []
        for directory in self._cgroup_dirs():
            for attempt in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    # A cgroup stays busy for a moment after its last process has gone.
                    if attempt == 49:
                        problems.append(f"cgroup {directory}: {error}")
                    time.sleep(0.1)
        return problems


def local_path_storage_documents(
    manifest: Path, provisioner_image: str, helper_image: str, volume_dir: Path
) -> list[dict]:
    """Upstream's local-path-provisioner manifest for this node: local images, the node's volume directory, and
    its StorageClass made the cluster's default."""
    documents = [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc]
    for doc in documents:
        kind = doc["kind"]
        if kind == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                container["image"] = provisioner_image
        elif kind == "ConfigMap" and doc["metadata"]["name"] == "local-path-config":
            config = json.loads(doc["data"]["config.json"])
            for entry in config["nodePathMap"]:
                entry["paths"] = [str(volume_dir)]
            doc["data"]["config.json"] = json.dumps(config, indent=2)
            helper = yaml.safe_load(doc["data"]["helperPod.yaml"])
            for container in helper["spec"]["containers"]:
                container["image"] = helper_image
            doc["data"]["helperPod.yaml"] = yaml.safe_dump(helper, sort_keys=False)
        elif kind == "StorageClass":
            annotations = doc["metadata"].setdefault("annotations", {})
            annotations["storageclass.kubernetes.io/is-default-class"] = "true"
    return documents


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _prune_old_logs(current: Path) -> None:
    runs = sorted((p for p in LOG_ROOT.iterdir() if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime)
    for old in runs[: max(0, len(runs) - (_KEEP_LOG_RUNS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest) -> Iterator[LocalKubeCluster]:
    """A started one-node cluster shared by the whole test session; fails (never skips) when it cannot start."""
    missing = missing_prerequisites()
    if missing:
        pytest.fail("the one-node cluster cannot start; missing:\n  " + "\n  ".join(missing), pytrace=False)
    cluster = LocalKubeCluster().start()
    t = cluster.timings
    report_line(
        request.config,
        f"\n[kube-node] node Ready in {t['node_ready']:.1f}s, add-ons in {t.get('addons_ready', 0):.1f}s "
        f"(API server {t['apiserver_ready']:.1f}s); node {cluster.node_address}, logs {cluster.log_dir}",
    )
    try:
        yield cluster
    finally:
        cluster.stop()
        leftovers = cluster.leftovers()
        assert not leftovers, f"the one-node cluster left things behind: {leftovers}"

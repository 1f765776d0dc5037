"""A real etcd + kube-apiserver on loopback, for tests that need the server's own validation.

The binaries come from scripts/build-k8s-tools.sh (.tools/bin). `LocalApiServer` starts
both processes in a throw-away directory under .work/apiserver/, waits for /readyz and
stops them by PID. `kube_apiserver` is a session-scoped pytest fixture other test
directories pull in from their conftest.py:

    from tests.support.apiserver import kube_apiserver  # noqa: F401

By default there are no nodes, controllers or scheduler: the server validates, defaults and
stores objects, nothing runs them. Good for server-side dry-run (tests/support/dryrun.py).
The one-node cluster (tests/support/kube_node.py) starts the same class with
`ApiServerSettings(with_nodes=True, ...)` inside the node's namespaces: node and RBAC
authorization, service-account admission, a kubelet client identity and the `kubernetes`
Service's endpoint pointing at the node address.
"""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.support.apiserver_pki import ApiServerPki, CertPair, ServingNames, create_pki, issue_client_cert

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = REPO_ROOT / ".tools" / "bin"
WORK_ROOT = REPO_ROOT / ".work" / "apiserver"
BUILD_HINT = "run scripts/build-k8s-tools.sh"

# Cold start measured at ~2.5 s on 2 cores; the margin covers a loaded CI machine.
DEFAULT_READY_TIMEOUT = 60.0
_STOP_GRACE_SECONDS = 15.0
_LOG_TAIL_LINES = 40
# A cluster IP range is mandatory even though nothing routes it; it only has to not
# collide with anything the tests create.
_SERVICE_CIDR = "10.96.0.0/16"


@dataclass(frozen=True)
class ApiServerSettings:
    """Where etcd and the API server run and what the server enforces; the defaults are the node-less tier's."""

    # argv prefix every process is started with, e.g. nsenter into a node's network namespace
    launcher: tuple[str, ...] = ()
    bind_address: str = "127.0.0.1"
    advertise_address: str = "127.0.0.1"
    # None: a free port on this host (only without a launcher, whose namespace has ports of its own)
    secure_port: int | None = None
    etcd_client_port: int | None = None
    etcd_peer_port: int | None = None
    service_cidr: str = _SERVICE_CIDR
    serving_names: ServingNames = field(default_factory=ServingNames)
    # Real nodes will register: Node+RBAC authorization, ServiceAccount and NodeRestriction admission, the lease
    # endpoint reconciler, and a client identity for the server's calls to kubelets.
    with_nodes: bool = False

    def __post_init__(self) -> None:
        if self.launcher and None in (self.secure_port, self.etcd_client_port, self.etcd_peer_port):
            raise ValueError(
                "ApiServerSettings: secure_port, etcd_client_port and etcd_peer_port must be given with a launcher; "
                "why: a free port of this host says nothing about the launcher's network namespace"
            )


class MissingK8sToolsError(RuntimeError):
    """The etcd / kube-apiserver binaries have not been built."""


class ApiServerStartError(RuntimeError):
    """etcd or kube-apiserver did not become ready."""


def _free_port() -> int:
    # The port is released before the server binds it; a collision shows up as a
    # bind error in the server log, which the start error includes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


def _require_binary(name: str, bin_dir: Path) -> Path:
    path = bin_dir / name
    if not path.is_file():
        raise MissingK8sToolsError(f"{path} is missing: {BUILD_HINT} (builds etcd, kube-apiserver, kubectl)")
    return path


class LocalApiServer:
    """etcd and kube-apiserver on 127.0.0.1 with free ports and a temporary data directory."""

    def __init__(
        self,
        bin_dir: Path = BIN_DIR,
        work_root: Path = WORK_ROOT,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        settings: ApiServerSettings | None = None,
        work_dir: Path | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self._bin_dir = bin_dir
        self._work_root = work_root
        self.ready_timeout = ready_timeout
        self.settings = settings or ApiServerSettings()
        # A given work_dir belongs to the caller: stop() leaves it in place.
        self._own_work_dir = work_dir is None
        self.work_dir: Path | None = work_dir
        # Logs live in the work dir unless the caller keeps them elsewhere (to outlive it).
        self._log_dir = log_dir
        self.url: str | None = None
        self.startup_seconds: float | None = None
        self._pki: ApiServerPki | None = None
        self._kubelet_client: CertPair | None = None
        self._etcd: subprocess.Popen | None = None
        self._apiserver: subprocess.Popen | None = None
        self._log_files: list = []

    # -- public API ---------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        if self.work_dir is None:
            raise RuntimeError("LocalApiServer is not started")
        return self.work_dir / "kubeconfig"

    @property
    def pki(self) -> ApiServerPki:
        if self._pki is None:
            raise RuntimeError("LocalApiServer is not started")
        return self._pki

    @property
    def etcd_log(self) -> Path:
        return (self._log_dir or self._require_work_dir()) / "etcd.log"

    @property
    def apiserver_log(self) -> Path:
        return (self._log_dir or self._require_work_dir()) / "kube-apiserver.log"

    def start(self) -> LocalApiServer:
        if self._apiserver is not None:
            raise RuntimeError("LocalApiServer is already started")
        etcd_bin = _require_binary("etcd", self._bin_dir)
        apiserver_bin = _require_binary("kube-apiserver", self._bin_dir)

        began = time.monotonic()
        if self._own_work_dir:
            self._work_root.mkdir(parents=True, exist_ok=True)
            self.work_dir = Path(tempfile.mkdtemp(prefix="session-", dir=self._work_root))
        self._pki = create_pki(self.work_dir / "pki", self.settings.serving_names)
        if self.settings.with_nodes:
            self._kubelet_client = issue_client_cert(
                self._pki, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
            )
        # Registered before anything starts so an interpreter exit never leaves servers behind.
        atexit.register(self.stop)
        try:
            etcd_url = self._start_etcd(etcd_bin)
            if not self.settings.launcher:
                # Inside a launcher's namespace etcd is out of this process's reach; /readyz covers it.
                self._wait_for_etcd(etcd_url, began)
            self._start_apiserver(apiserver_bin, etcd_url)
            self._write_kubeconfig()
            self._wait_for_readyz(began)
        except BaseException:
            self.stop(keep_work_dir=True)
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, keep_work_dir: bool = False) -> None:
        """Stop kube-apiserver, then etcd, by PID; remove the work directory unless asked to keep it."""
        # The API server goes first so it does not spend its shutdown retrying a dead etcd.
        for proc in (self._apiserver, self._etcd):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._apiserver = None
        self._etcd = None
        for handle in self._log_files:
            handle.close()
        self._log_files = []
        atexit.unregister(self.stop)
        if self.work_dir is not None and self._own_work_dir and not keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    @property
    def pids(self) -> dict[str, int]:
        return {
            name: proc.pid
            for name, proc in (("etcd", self._etcd), ("kube-apiserver", self._apiserver))
            if proc is not None
        }

    def api_client(self) -> k8s_client.ApiClient:
        """A fresh admin ApiClient (system:masters client certificate); the caller closes it."""
        return k8s_config.new_client_from_config(config_file=str(self.kubeconfig_path))

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        """GET an API path as admin; returns (HTTP status, body)."""
        request = urllib.request.Request(f"{self.url}{path}")
        try:
            with urllib.request.urlopen(request, context=self._ssl_context(), timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def server_version(self) -> str:
        status, body = self.get("/version")
        if status != 200:
            raise RuntimeError(f"GET /version returned {status}: {body}")
        return json.loads(body)["gitVersion"]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------

    def _require_work_dir(self) -> Path:
        if self.work_dir is None:
            raise RuntimeError("LocalApiServer is not started")
        return self.work_dir

    def _spawn(self, argv: list[str], log_path: Path) -> subprocess.Popen:
        log = log_path.open("wb")
        self._log_files.append(log)
        return subprocess.Popen(
            [*self.settings.launcher, *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )

    def _start_etcd(self, etcd_bin: Path) -> str:
        work_dir = self._require_work_dir()
        client_url = f"http://127.0.0.1:{self.settings.etcd_client_port or _free_port()}"
        peer_url = f"http://127.0.0.1:{self.settings.etcd_peer_port or _free_port()}"
        self._etcd = self._spawn(
            [
                str(etcd_bin),
                "--name=test",
                f"--data-dir={work_dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=test={peer_url}",
                # Throw-away data: durability only costs time here.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self.etcd_log,
        )
        return client_url

    def _start_apiserver(self, apiserver_bin: Path, etcd_url: str) -> None:
        pki = self._pki
        settings = self.settings
        work_dir = self._require_work_dir()
        port = settings.secure_port or _free_port()
        self.url = f"https://{settings.advertise_address}:{port}"
        self._apiserver = self._spawn(
            [
                str(apiserver_bin),
                f"--etcd-servers={etcd_url}",
                f"--bind-address={settings.bind_address}",
                f"--advertise-address={settings.advertise_address}",
                f"--secure-port={port}",
                f"--cert-dir={work_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={settings.service_cidr}",
                "--allow-privileged=true",
                # Reads straight from etcd. With the watch cache, a CRD's storage answers "storage is
                # (re)initializing" for a while after each change to the CRD, and the CRD finalizer (which
                # lists the instances it must delete) backs off exponentially on that answer: a CRD deleted
                # right after its creation could stay Terminating for minutes (seen in CI).
                "--watch-cache=false",
                *(self._node_args() if settings.with_nodes else self._nodeless_args()),
            ],
            self.apiserver_log,
        )

    @staticmethod
    def _nodeless_args() -> list[str]:
        return [
            # RBAC like a real cluster; the admin client is in system:masters.
            "--authorization-mode=RBAC",
            # The reconciler refuses a loopback advertise address; nothing here needs
            # the kubernetes Service endpoints anyway.
            "--endpoint-reconciler-type=none",
            # No token controller runs, so pods naming a service account would be
            # rejected for a reason that says nothing about the manifests (as envtest).
            # StorageObjectInUseProtection puts finalizers on every PersistentVolume(Claim)
            # that only the pv/pvc-protection controllers remove: a deleted volume (claim)
            # would stay Terminating for ever (the real-engine tier deletes them).
            "--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection",
        ]

    def _node_args(self) -> list[str]:
        return [
            # What kubeadm configures: kubelets limited to their own node's objects, RBAC for the rest.
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={self._kubelet_client.cert}",
            f"--kubelet-client-key={self._kubelet_client.key}",
            f"--kubelet-certificate-authority={self._pki.ca_cert}",
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def _ssl_context(self) -> ssl.SSLContext:
        pki = self._pki
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        return context

    def _deadline_error(self, what: str, began: float, detail: str) -> ApiServerStartError:
        return ApiServerStartError(
            f"{what} was not ready after {time.monotonic() - began:.1f}s (timeout {self.ready_timeout:.0f}s): "
            f"{detail}\n"
            f"(full logs kept in {self.work_dir})\n"
            f"--- tail of {self.etcd_log} ---\n{_tail(self.etcd_log)}\n"
            f"--- tail of {self.apiserver_log} ---\n{_tail(self.apiserver_log)}"
        )

    def _check_alive(self, what: str, proc: subprocess.Popen, began: float) -> None:
        code = proc.poll()
        if code is not None:
            raise self._deadline_error(what, began, f"{what} exited with status {code}")

    def _wait_for_etcd(self, etcd_url: str, began: float) -> None:
        last = "no answer yet"
        while time.monotonic() - began < self.ready_timeout:
            self._check_alive("etcd", self._etcd, began)
            try:
                with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as response:
                    body = response.read().decode()
                if json.loads(body).get("health") == "true":
                    return
                last = body
            except (OSError, ValueError) as error:
                last = str(error)
            time.sleep(0.1)
        raise self._deadline_error("etcd", began, f"last /health answer: {last}")

    def _wait_for_readyz(self, began: float) -> None:
        last = "no answer yet"
        while time.monotonic() - began < self.ready_timeout:
            self._check_alive("kube-apiserver", self._apiserver, began)
            try:
                status, body = self.get("/readyz", timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}: {body.strip()[-500:]}"
            except OSError as error:
                last = str(error)
            time.sleep(0.2)
        raise self._deadline_error("kube-apiserver", began, f"last /readyz answer: {last}")

    def _write_kubeconfig(self) -> None:
        pki = self._pki
        # JSON is valid YAML, and both kubectl and the Python client read it.
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {"server": self.url, "certificate-authority": str(pki.ca_cert)}}],
            "users": [
                {
                    "name": "admin",
                    "user": {"client-certificate": str(pki.client_cert), "client-key": str(pki.client_key)},
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        }
        self.kubeconfig_path.write_text(json.dumps(kubeconfig, indent=2))


def report_line(config: pytest.Config, line: str) -> None:
    """Print a line into the pytest output even while output is being captured."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        # xdist workers have no terminal; stderr ends up in the worker's report.
        print(line, file=sys.stderr)
        return
    # Capture is at file-descriptor level, so the reporter's writes would be swallowed too.
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def kube_apiserver(request: pytest.FixtureRequest) -> Iterator[LocalApiServer]:
    """A started LocalApiServer shared by the whole test session."""
    server = LocalApiServer().start()
    try:
        report_line(
            request.config,
            f"\n[kube-apiserver] {server.server_version()} ready in {server.startup_seconds:.1f}s "
            f"at {server.url} (pids {server.pids})",
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kube_api_client(kube_apiserver: LocalApiServer) -> Iterator[k8s_client.ApiClient]:
    """An admin ApiClient for the session's kube_apiserver."""
    api = kube_apiserver.api_client()
    try:
        yield api
    finally:
        api.close()

"""infra/okd/scripts/okd_step.py, the steps the Command resources run, run for real as a process against the
STAND-IN openshift-install of tests/fixtures (the real installer cannot be downloaded here)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from infra.paths import PROJECT_DIR

STEP = PROJECT_DIR / "infra" / "okd" / "scripts" / "okd_step.py"
STAND_IN = PROJECT_DIR / "tests" / "fixtures" / "stand-in-openshift-install"
RELEASE = "4.15.0-0.okd-2024-03-10-010116"
INSTALL_CONFIG = """apiVersion: v1
metadata:
  name: eaf-dev
baseDomain: fnal.gov
controlPlane:
  name: master
  hyperthreading: Enabled
  replicas: 3
compute:
- name: worker
  hyperthreading: Enabled
  replicas: 5
platform:
  none: {}
pullSecret: "{\\"auths\\":{\\"fake\\":{\\"auth\\":\\"aWQ6cGFzcwo=\\"}}}"
"""


def _step_module():
    spec = importlib.util.spec_from_file_location("okd_step", STEP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_step(step: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    """As infra/okd/step_provider.py runs it: `python3 infra/okd/scripts/okd_step.py STEP` in the project dir."""
    return subprocess.run([sys.executable, str(STEP), step], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_DIR, env={**os.environ, **env}, timeout=60, check=False)


@pytest.fixture
def archive(tmp_path) -> tuple[Path, str]:
    """An installer archive shaped like the release's tar.gz, with the stand-in as its openshift-install."""
    path = tmp_path / "openshift-install-linux.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tar.gettarinfo(STAND_IN, arcname="openshift-install")
        with open(STAND_IN, "rb") as handle:
            tar.addfile(info, handle)
        readme = b"stand-in archive\n"
        entry = tarfile.TarInfo("README.md")
        entry.size = len(readme)
        tar.addfile(entry, io.BytesIO(readme))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fetch_env(tmp_path, archive) -> dict[str, str]:
    path, sha = archive
    return {"EAF_RELEASE": RELEASE, "EAF_INSTALLER_URL": path.as_uri(), "EAF_INSTALLER_SHA256": sha,
            "EAF_INSTALLER_CACHE": str(tmp_path / "cache"), "EAF_WORK_DIR": str(tmp_path / "work"),
            "EAF_CLUSTER_DOMAIN": "eaf-dev.fnal.gov", "EAF_MASTERS_SCHEDULABLE": "false"}


@pytest.fixture
def fetched(fetch_env) -> dict[str, str]:
    result = run_step("fetch-installer", fetch_env)
    assert result.returncode == 0, result.stderr
    return fetch_env


def test_fetch_verifies_the_checksum_and_links_the_installer_into_the_work_dir(fetch_env):
    result = run_step("fetch-installer", fetch_env)
    assert result.returncode == 0, result.stderr
    link = Path(fetch_env["EAF_WORK_DIR"]) / "bin" / "openshift-install"
    assert json.loads(result.stdout) == {"installer": str(link), "version": f"openshift-install {RELEASE}"}
    cached = Path(fetch_env["EAF_INSTALLER_CACHE"]) / RELEASE / "openshift-install"
    assert link.resolve() == cached.resolve() and os.access(cached, os.X_OK)
    assert cached.read_bytes() == STAND_IN.read_bytes(), "the archive's openshift-install member, byte for byte"


def test_fetch_refuses_a_checksum_mismatch_and_names_the_real_checksum(fetch_env, archive):
    result = run_step("fetch-installer", {**fetch_env, "EAF_INSTALLER_SHA256": "0" * 64})
    assert result.returncode == 1
    assert f"downloaded {archive[1]}" in result.stderr and "infra/data/versions.yaml" in result.stderr, result.stderr
    assert not (Path(fetch_env["EAF_INSTALLER_CACHE"]) / RELEASE / "openshift-install").exists()


def test_second_fetch_uses_the_cache_without_downloading(fetched, archive):
    archive[0].unlink()  # a download would now fail
    result = run_step("fetch-installer", fetched)
    assert result.returncode == 0, result.stderr
    assert "cached:" in result.stderr, result.stderr


def test_fetch_with_an_unreachable_url_points_at_the_pre_staged_path(fetch_env):
    result = run_step("fetch-installer", {**fetch_env, "EAF_INSTALLER_URL": "file:///nonexistent/installer.tar.gz"})
    assert result.returncode == 1 and "eaf:okd.install.installerPath" in result.stderr, result.stderr


def test_a_pre_staged_installer_is_used_without_download(fetch_env, tmp_path):
    env = {**fetch_env, "EAF_INSTALLER_PATH": str(STAND_IN), "EAF_INSTALLER_URL": "file:///nonexistent"}
    result = run_step("fetch-installer", env)
    assert result.returncode == 0, result.stderr
    assert (Path(fetch_env["EAF_WORK_DIR"]) / "bin" / "openshift-install").resolve() == STAND_IN.resolve()


def test_a_pre_staged_installer_of_another_release_is_refused(fetch_env):
    env = {**fetch_env, "EAF_INSTALLER_PATH": str(STAND_IN), "STANDIN_RELEASE": "4.14.0-0.okd-2023-12-01-225814"}
    result = run_step("fetch-installer", env)
    assert result.returncode == 1 and f"not the pinned release {RELEASE}" in result.stderr, result.stderr


def test_create_manifests_sets_masters_unschedulable_and_drops_machine_api_objects(fetched):
    result = run_step("create-manifests", fetched, stdin=INSTALL_CONFIG)
    assert result.returncode == 0, result.stderr
    assets = Path(fetched["EAF_WORK_DIR"]) / "assets"
    scheduler = (assets / "manifests" / "cluster-scheduler-02-config.yml").read_text()
    assert "mastersSchedulable: false" in scheduler and "mastersSchedulable: true" not in scheduler
    summary = json.loads(result.stdout)
    assert summary["removed"] == ["openshift/99_openshift-cluster-api_master-machines-0.yaml",
                                  "openshift/99_openshift-cluster-api_worker-machineset-0.yaml",
                                  "openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml"]
    assert sorted(p.name for p in (assets / "openshift").iterdir()) == ["99_kubeadmin-password-secret.yaml"]


def test_create_manifests_can_make_masters_schedulable(fetched):
    result = run_step("create-manifests", {**fetched, "EAF_MASTERS_SCHEDULABLE": "true"},
                      stdin=INSTALL_CONFIG.replace("replicas: 5", "replicas: 2"))
    assert result.returncode == 0, result.stderr
    scheduler = Path(fetched["EAF_WORK_DIR"]) / "assets" / "manifests" / "cluster-scheduler-02-config.yml"
    assert "mastersSchedulable: true" in scheduler.read_text()


def test_create_manifests_adds_the_extra_manifests(fetched, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "50-chrony.yaml").write_text("kind: MachineConfig\n")
    (extra / "notes.txt").write_text("not a manifest\n")
    result = run_step("create-manifests", {**fetched, "EAF_EXTRA_MANIFESTS": str(extra)}, stdin=INSTALL_CONFIG)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == ["openshift/50-chrony.yaml"]
    assert (Path(fetched["EAF_WORK_DIR"]) / "assets" / "openshift" / "50-chrony.yaml").read_text() == \
        "kind: MachineConfig\n"


def test_create_manifests_starts_from_a_clean_assets_dir(fetched):
    stale = Path(fetched["EAF_WORK_DIR"]) / "assets" / ".openshift_install_state.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"domain": "old-cluster.example.org"}')
    assert run_step("create-manifests", fetched, stdin=INSTALL_CONFIG).returncode == 0
    assert "eaf-dev.fnal.gov" in stale.read_text(), "the previous install's state must not be reused"


def test_an_installer_failure_fails_the_step_with_its_exit_code(fetched):
    result = run_step("create-manifests", {**fetched, "STANDIN_FAIL": "manifests"}, stdin=INSTALL_CONFIG)
    assert result.returncode == 4 and "simulated failure of manifests" in result.stderr
    assert "openshift-install create manifests failed (exit 4)" in result.stderr, result.stderr


def test_create_manifests_without_an_install_config_says_so(fetched):
    result = run_step("create-manifests", fetched, stdin="")
    assert result.returncode == 1 and "no install-config on stdin" in result.stderr, result.stderr


@pytest.fixture
def ignited(fetched) -> dict[str, str]:
    assert run_step("create-manifests", fetched, stdin=INSTALL_CONFIG).returncode == 0
    result = run_step("create-ignition-configs", fetched)
    assert result.returncode == 0, result.stderr
    fetched["bundle"] = result.stdout
    return fetched


def test_create_ignition_configs_prints_every_installer_file(ignited):
    bundle = json.loads(ignited["bundle"])
    assert sorted(bundle) == ["auth/kubeadmin-password", "auth/kubeconfig", "bootstrap.ign", "master.ign",
                              "worker.ign"]
    assert json.loads(bundle["worker.ign"])["ignition"]["config"]["merge"][0]["source"] == \
        "https://api-int.eaf-dev.fnal.gov:22623/config/worker"


def test_reading_the_ignition_configs_again_gives_the_same_bytes(ignited):
    result = run_step("read-ignition-configs", ignited)
    assert result.returncode == 0 and result.stdout == ignited["bundle"], result.stderr


def test_reading_from_a_lost_work_dir_says_what_is_missing(ignited):
    (Path(ignited["EAF_WORK_DIR"]) / "assets" / "master.ign").unlink()
    result = run_step("read-ignition-configs", ignited)
    assert result.returncode == 1 and "master.ign is missing" in result.stderr, result.stderr


def test_ignition_of_another_cluster_is_refused(ignited):
    result = run_step("read-ignition-configs", {**ignited, "EAF_CLUSTER_DOMAIN": "eaf-prod-a.fnal.gov"})
    assert result.returncode == 1 and "belongs to another cluster" in result.stderr, result.stderr


def test_wait_steps_succeed_and_fail_with_the_installer(ignited):
    assert json.loads(run_step("wait-bootstrap-complete", ignited).stdout) == {"bootstrapComplete": True}
    failed = run_step("wait-bootstrap-complete", {**ignited, "STANDIN_FAIL": "bootstrap-complete"})
    assert failed.returncode == 4, failed.stderr
    assert "bootstrap-complete --log-level info failed (exit 4)" in failed.stderr, failed.stderr


def test_install_complete_log_does_not_show_the_kubeadmin_password(ignited):
    result = run_step("wait-install-complete", ignited)
    assert result.returncode == 0 and json.loads(result.stdout) == {"installComplete": True}, result.stderr
    assert "STAND-in-not-a-real-passwd" not in result.stderr + result.stdout
    # Redacted by value: the line stays, with the word "password" in it; only the secret is replaced.
    assert 'Login to the console with user: \\"kubeadmin\\", and password: \\"[secret]\\"' in result.stderr, \
        result.stderr


def test_the_pull_secrets_token_is_redacted_from_the_installers_log(fetched):
    token = "aWQ6cGFzcwo="  # the install-config's auth (base64 of id:pass)
    result = run_step("create-manifests", {**fetched, "STANDIN_SAY": f"using auth {token} for the mirror"},
                      stdin=INSTALL_CONFIG)
    assert result.returncode == 0, result.stderr
    assert token not in result.stderr and "using auth [secret] for the mirror" in result.stderr, result.stderr


def test_the_installers_log_is_passed_on_while_it_runs(ignited, tmp_path):
    go_on = tmp_path / "go-on"
    env = {**os.environ, **ignited, "STANDIN_SAY": "Waiting up to 20m0s for the bootstrap-complete event",
           "STANDIN_WAIT_FOR": str(go_on)}
    process = subprocess.Popen([sys.executable, str(STEP), "wait-bootstrap-complete"], cwd=PROJECT_DIR, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(
        line for line in iter(process.stderr.readline, "") if not go_on.exists()), daemon=True)
    try:
        reader.start()
        deadline = time.monotonic() + 20
        while not any("Waiting up to 20m0s" in line for line in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("Waiting up to 20m0s" in line for line in seen), f"nothing while the installer ran: {seen}"
        assert process.poll() is None, "the installer was still waiting when its line arrived"
        go_on.touch()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class FakeHaproxyRuntimeApi:
    """A TCP server answering HAProxy runtime API commands as HAProxy 2.8 does (one command per connection)."""

    STATE = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
             "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
             "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
             "srv_check_addr srv_agent_addr srv_agent_port\n"
             "3 api-server-6443 1 bootstrap 10.42.16.9 2 0 1 1 31 6 3 4 6 0 0 0 - 6443 - 0 0 - - 0\n"
             "3 api-server-6443 2 ctrl-0 10.42.16.10 2 0 1 1 31 6 3 4 6 0 0 0 - 6443 - 0 0 - - 0\n"
             "4 machine-config-server-22623 1 bootstrap 10.42.16.9 2 0 1 1 31 6 3 4 6 0 0 0 - 22623 - 0 0 - - 0\n"
             "5 ingress-router-443 1 worker-0 10.42.16.20 2 0 1 1 31 6 3 4 6 0 0 0 - 443 - 0 0 - - 0\n\n")

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.commands: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                command = connection.makefile().readline().strip()
                self.commands.append(command)
                connection.sendall((self.STATE if command == "show servers state" else "\n").encode())


def _stand_in_ssh(tmp_path: Path) -> Path:
    """Runs the remote part locally: drops ssh's options and target, keeps `bash -s -- host port`."""
    path = tmp_path / "stand-in-ssh"
    path.write_text("#!/bin/bash\nset -euo pipefail\nwhile [[ $1 == -o ]]; do shift 2; done\nshift\nexec \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_bootstrap_is_disabled_in_every_backend_through_the_runtime_api(tmp_path):
    api = FakeHaproxyRuntimeApi()
    env = {"EAF_SSH": str(_stand_in_ssh(tmp_path)), "EAF_LB_HOST": "10.42.16.5", "EAF_LB_SSH_USER": "core",
           "EAF_LB_RUNTIME_API": f"127.0.0.1:{api.port}"}
    try:
        result = run_step("lb-remove-bootstrap", env)
    finally:
        api.server.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"disabled": ["api-server-6443/bootstrap",
                                                      "machine-config-server-22623/bootstrap"]}
    assert api.commands == ["show servers state", "disable server api-server-6443/bootstrap",
                            "disable server machine-config-server-22623/bootstrap"]


def test_a_load_balancer_without_runtime_api_is_reported_with_the_config_line(tmp_path):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env = {"EAF_SSH": str(_stand_in_ssh(tmp_path)), "EAF_LB_HOST": "10.42.16.5", "EAF_LB_SSH_USER": "core",
           "EAF_LB_RUNTIME_API": f"127.0.0.1:{port}"}
    result = run_step("lb-remove-bootstrap", env)
    assert result.returncode == 1 and f"stats socket ipv4@127.0.0.1:{port} level admin" in result.stderr


def test_node_names_tell_registered_from_ready():
    step = _step_module()
    nodes = {"items": [
        {"metadata": {"name": "ctrl-0.eaf-dev.fnal.gov"}, "status": {"conditions": [{"type": "Ready",
                                                                                     "status": "True"}]}},
        {"metadata": {"name": "worker-0"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
    ]}
    assert step._node_names(nodes) == ({"ctrl-0.eaf-dev.fnal.gov", "worker-0"}, {"ctrl-0.eaf-dev.fnal.gov"})


def test_create_manifests_adds_the_manifests_generated_from_the_plan(fetched):
    generated = {"99-worker-chrony.yaml": "kind: MachineConfig\nmetadata:\n  name: 99-worker-chrony\n"}
    result = run_step("create-manifests", {**fetched, "EAF_OPENSHIFT_MANIFESTS": json.dumps(generated)},
                      stdin=INSTALL_CONFIG)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == ["openshift/99-worker-chrony.yaml"]
    assert (Path(fetched["EAF_WORK_DIR"]) / "assets" / "openshift" / "99-worker-chrony.yaml").read_text() == \
        generated["99-worker-chrony.yaml"]


def test_a_generated_manifest_name_with_a_path_is_refused(fetched):
    result = run_step("create-manifests", {**fetched, "EAF_OPENSHIFT_MANIFESTS": json.dumps({"../x.yaml": "a: 1"})},
                      stdin=INSTALL_CONFIG)
    assert result.returncode == 1 and "is not a manifest file name" in result.stderr, result.stderr


def test_a_new_install_never_deletes_an_installed_clusters_assets(ignited):
    assets = Path(ignited["EAF_WORK_DIR"]) / "assets"
    before = {p: p.read_bytes() for p in assets.rglob("*") if p.is_file()}
    result = run_step("create-manifests", ignited, stdin=INSTALL_CONFIG)
    assert result.returncode == 1, result.stderr
    assert "holds the state of the installed cluster eaf-dev" in result.stderr and "mv " in result.stderr
    assert {p: p.read_bytes() for p in assets.rglob("*") if p.is_file()} == before, "nothing may change"


def test_another_clusters_work_dir_is_refused_by_name(ignited):
    result = run_step("create-manifests", {**ignited, "EAF_CLUSTER_DOMAIN": "eaf-prod-a.fnal.gov"},
                      stdin=INSTALL_CONFIG)
    assert result.returncode == 1 and "installer state of cluster eaf-dev" in result.stderr, result.stderr


class FlakyServer:
    """An HTTP server that answers the first `failures` GETs with `status`, then serves `body`."""

    def __init__(self, body: bytes, failures: int, status: int):
        import http.server

        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                outer.requests += 1
                if outer.requests <= failures:
                    self.send_error(status)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/openshift-install-linux.tar.gz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_download_is_retried_with_backoff_after_transient_failures(fetch_env, archive):
    server = FlakyServer(archive[0].read_bytes(), failures=2, status=503)
    try:
        result = run_step("fetch-installer", {**fetch_env, "EAF_INSTALLER_URL": server.url,
                                              "EAF_DOWNLOAD_BACKOFF_SECONDS": "0.1"})
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert server.requests == 3
    assert "download failed (HTTP 503); retrying in 0.1 s" in result.stderr
    assert "download failed (HTTP 503); retrying in 0.2 s" in result.stderr, result.stderr


def test_a_download_answered_404_is_not_retried(fetch_env, archive):
    server = FlakyServer(archive[0].read_bytes(), failures=5, status=404)
    try:
        result = run_step("fetch-installer", {**fetch_env, "EAF_INSTALLER_URL": server.url,
                                              "EAF_DOWNLOAD_BACKOFF_SECONDS": "0.1"})
    finally:
        server.close()
    assert result.returncode == 1 and server.requests == 1, result.stderr
    assert "retrying" not in result.stderr and "(attempt 1 of 5)" in result.stderr, result.stderr

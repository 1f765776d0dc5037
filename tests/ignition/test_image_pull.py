"""A load balancer's image pulls at the site: the stack's image mirrors, proxy and trust bundle reach its Ignition,
and podman (Debian's 4.3, the reader of these files on CoreOS too) reads them as meant."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from ignition import image_pull
from ignition.render import render_node
from infra.stages import ignition_input
from tests.ignition.decode import Decoded
from tests.ignition.support import SSH_KEYS, loaded_stack, okd_fixture_configs
from tests.pki import ca_certificate_pem

MIRRORS = [{"source": "quay.io/openshift/okd", "mirrors": ["mirror.site.example:5000/okd"]},
           {"source": "docker.io/library", "mirrors": ["mirror.site.example:5000/library",
                                                        "backup.site.example/library"]}]
PROXY = {"httpProxy": "http://proxy.site.example:3128", "httpsProxy": "http://proxy.site.example:3128",
         "noProxy": ".site.example,10.0.0.0/8"}


def _site_overrides() -> dict:
    return {"okd": {"imageMirrors": MIRRORS, "proxy": PROXY, "additionalTrustBundle": ca_certificate_pem(),
                    "additionalTrustBundlePolicy": "Always"}}


def _balancers(overrides: dict | None = None) -> list[Decoded]:
    loaded = loaded_stack("dev", json.dumps(overrides) if overrides else None)
    return [Decoded.of(render_node(ignition_input(loaded), node, okd_fixture_configs(), SSH_KEYS))
            for node in loaded.plan.nodes if node.name.startswith("lb")]


def test_without_site_settings_the_balancer_gets_no_image_pull_files():
    for balancer in _balancers():
        paths = set(balancer.files())
        assert image_pull.MIRRORS_FILE not in paths and image_pull.PROXY_FILE not in paths
        assert image_pull.TRUST_ANCHOR not in paths


def test_mirrors_proxy_and_trust_bundle_reach_every_balancer():
    balancers = _balancers(_site_overrides())
    assert balancers, "the dev stack has load balancers"
    for balancer in balancers:
        assert balancer.file_text(image_pull.TRUST_ANCHOR) == ca_certificate_pem()
        for host in ("mirror.site.example:5000", "backup.site.example"):
            assert balancer.file_text(f"{image_pull.CERTS_DIR}/{host}/ca.crt") == ca_certificate_pem()
        proxy = tomllib.loads(balancer.file_text(image_pull.PROXY_FILE))
        assert "HTTPS_PROXY=http://proxy.site.example:3128" in proxy["engine"]["env"]
        assert "no_proxy=.site.example,10.0.0.0/8" in proxy["engine"]["env"]
        assert proxy["containers"]["http_proxy"] is False, "the containers themselves do not get the proxy"


def _podman_info(tmp_path: Path, registries: str, containers: str) -> dict:
    podman = shutil.which("podman")
    if podman is None:
        pytest.fail("podman is missing: apt-get install podman (scripts/install-system-packages.sh)")
    (tmp_path / "registries.conf").write_text(registries)
    (tmp_path / "containers.conf").write_text(containers)
    (tmp_path / "storage.conf").write_text(  # a private store: nothing of the host's podman is touched
        f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path}/graph"\nrunroot = "{tmp_path}/run"\n')
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp_path),
           "CONTAINERS_REGISTRIES_CONF": str(tmp_path / "registries.conf"),
           "CONTAINERS_CONF": str(tmp_path / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf")}
    result = subprocess.run([podman, "info", "--format", "json"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, f"podman does not read the files: {result.stderr}"
    return json.loads(result.stdout)


@pytest.mark.real
def test_podman_reads_the_balancers_mirrors_and_proxy_config(tmp_path):
    balancer = _balancers(_site_overrides())[0]
    info = _podman_info(tmp_path, balancer.file_text(image_pull.MIRRORS_FILE),
                        balancer.file_text(image_pull.PROXY_FILE))
    registries = info["registries"]
    for mirror in MIRRORS:
        entry = registries[mirror["source"]]
        assert [m["Location"] for m in entry["Mirrors"]] == mirror["mirrors"], entry
        assert {m["PullFromMirror"] for m in entry["Mirrors"]} == {"all"}, "tag pulls use the mirrors too"

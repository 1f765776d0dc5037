"""The OKD release and how it is installed (UPI, platform none)."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Literal

from pydantic import Field

from infra.spec.base import PemBundle, Strict


class OkdNetworking(Strict):
    cluster_network: IPv4Network = IPv4Network("10.128.0.0/14")
    host_prefix: int = Field(23, ge=16, le=28)
    service_network: IPv4Network = IPv4Network("172.30.0.0/16")
    network_type: str = "OVNKubernetes"


class Proxy(Strict):
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None


class ImageMirror(Strict):
    source: str
    mirrors: tuple[str, ...]


class OkdInstall(Strict):
    enabled: bool = True
    installer_cache: str = Field("~/.cache/eaf/openshift-install", description="where the installer is fetched to")
    installer_path: str | None = Field(None, description="a pre-staged openshift-install binary (air-gapped sites)")
    work_dir: str = Field(".work/{stack}/okd", description="per-stack asset dir; {stack} is replaced")
    extra_manifests: str | None = Field(None, description="a repo dir of manifests added after `create manifests`")
    csr_approval_minutes: int = Field(60, ge=1, le=600, description="how long bring-up approves CSRs for nodes "
                                      "to become Ready before it gives up")
    lb_runtime_api: str = Field("127.0.0.1:9999", pattern=r"^[0-9.]+:[0-9]{1,5}$",
                                description="HAProxy's runtime API (stats socket) as seen on the LB host; bring-up "
                                "disables the bootstrap servers through it")
    remove_bootstrap: Literal["auto", "manual"] = Field(
        "auto", description="auto: once the stack's state records bootstrap-complete for this install, the program "
        "leaves the bootstrap VM out (`python -m infra up` runs that second pass itself); manual: it stays until "
        "eaf:nodes.bootstrap.enabled is set to false")


class Okd(Strict):
    release: str | None = Field(None, description="a release of versions.yaml's okd catalogue; default: its default")
    install: OkdInstall = OkdInstall()
    networking: OkdNetworking = OkdNetworking()
    proxy: Proxy | None = None
    image_mirrors: tuple[ImageMirror, ...] = ()
    additional_trust_bundle: PemBundle | None = Field(
        None, description="PEM CA certificates the cluster and the load balancers trust (a mirror registry's or "
        "TLS-inspecting proxy's CA): install-config additionalTrustBundle, later the user-ca-bundle ConfigMap")
    additional_trust_bundle_policy: Literal["Proxyonly", "Always"] = Field(
        "Proxyonly", description="Always: the bundle is trusted cluster-wide even without a proxy (a mirror "
        "registry's CA needs this); Proxyonly: only together with eaf:okd.proxy")
    masters_schedulable: bool | None = Field(None, description="default: schedulable only when there are no workers")

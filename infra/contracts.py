"""What the stages take and hand each other: one typed input and one typed output per stage.

Each stage gets only what it uses (built from the validated stack by infra.stages), so no layer reaches into the
whole spec or into another layer's internals:

  spec + plan (infra.spec.load_spec)
    -> InstallInput  -> Install          (infra.okd.prepare_install: OKD's Ignition, and later the bring-up)
    -> IgnitionInput -> {node: Ignition} (ignition.node_configs)
    -> MachinesInput -> Machines         (infra.libvirt.create_machines: networks, pools, volumes, domains)
    -> Install.bring_up(Machines) -> ClusterAccess | None (bootstrap-complete, CSRs, install-complete)
    -> AppsInput + ClusterAccess         (infra.apps.deploy_apps)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from infra.catalog import OkdRelease
from infra.plan.model import ClusterPlan
from infra.spec.cluster import Cluster
from infra.spec.libvirt import Libvirt
from infra.spec.network import Network
from infra.spec.okd import Okd
from infra.spec.os_image import OsImage

if TYPE_CHECKING:  # annotations only: `python -m infra render` reads these types without loading Pulumi
    import pulumi

# -- inputs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallInput:
    """The OKD install: the cluster's identity and networks, the release, the install settings, the nodes."""

    stack: str
    cluster: Cluster
    network: Network
    okd: Okd
    plan: ClusterPlan
    release_name: str
    release: OkdRelease


@dataclass(frozen=True)
class ImagePull:
    """How a node outside the cluster (a load balancer) pulls its container images: the site's image mirrors
    (source repository -> mirror repositories), proxy and extra CA certificates. Empty: straight from the source."""

    mirrors: tuple[tuple[str, tuple[str, ...]], ...] = ()
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None
    trust_bundle: str | None = None  # PEM


@dataclass(frozen=True)
class IgnitionInput:
    """Every node's Ignition: the plan (nodes, network, load balancer backends) and the pins the configs name."""

    stack: str
    plan: ClusterPlan
    spec_version: str  # Ignition spec of OKD's own configs and of ours
    haproxy_image: str
    keepalived_image: str  # the load-balancer pair's VIPs
    lb_runtime_api: str  # HAProxy's runtime API address on the LB host
    image_pull: ImagePull = ImagePull()  # the load balancers' image pulls (mirrors, proxy, trust)


@dataclass(frozen=True)
class MachinesInput:
    """The libvirt objects: the plan (hosts, nodes, network), the OS image, how libvirt is driven."""

    plan: ClusterPlan
    os_image: OsImage
    libvirt: Libvirt
    project_dir: Path  # relative image paths of the stack file are relative to it


@dataclass(frozen=True)
class AppsInput:
    stack: str
    apps: Any  # the registry's Apps model (infra.apps.registry)
    plan: ClusterPlan


# -- outputs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallAssets:
    """OKD's Ignition inputs for the node configs. Texts are Ignition JSON documents (spec 3.2.0)."""

    master_pointer: pulumi.Input[str]
    worker_pointer: pulumi.Input[str]
    bootstrap: pulumi.Input[str] | None  # OKD's bootstrap.ign (holds the pull secret: a secret Output)


@dataclass(frozen=True)
class Machines:
    """The machine layer's result, whichever libvirt backend made it."""

    domains: dict[str, pulumi.Resource]  # node name -> its VM (domain) resource


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach the installed cluster. The kubeconfig Output resolves only once the cluster can be reached, and
    `ready` is what must exist first (install-complete): every app object waits on it through the one provider."""

    api_url: pulumi.Input[str]
    console_url: pulumi.Input[str]
    kubeconfig: pulumi.Output[str]  # secret
    kubeadmin_password: pulumi.Output[str] | None  # secret; None for a cluster the stack did not install
    okd_version: str | None  # None for a cluster the stack did not install
    ready: tuple[pulumi.Resource, ...] = ()
    # What the state records about the bootstrap node, for the next evaluation (infra.okd.bootstrap_retirement);
    # None for a cluster the stack did not install.
    bootstrap: pulumi.Output[dict[str, Any]] | None = None


class Install(Protocol):
    """What prepare_install returns: OKD's configs now, the bring-up once the machines exist."""

    assets: InstallAssets

    def bring_up(self, machines: Machines) -> ClusterAccess | None: ...

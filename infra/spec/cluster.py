"""The whole cluster spec: what one stack describes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.apps.registry import Apps, app_secret_keys
from infra.spec.base import DnsLabel, DnsName, Strict
from infra.spec.existing_cluster import KUBECONFIG_KEY, ExistingCluster
from infra.spec.hosts import Host
from infra.spec.libvirt import Libvirt
from infra.spec.network import Network
from infra.spec.nodes import Nodes
from infra.spec.okd import Okd
from infra.spec.os_image import OsImage

Role = Literal["dev", "active", "spare", "local"]


class Cluster(Strict):
    name: DnsLabel = Field(description="cluster name: the first label of every cluster DNS name, and VM name prefix")
    base_domain: DnsName = Field(description="DNS domain the cluster lives under: <name>.<baseDomain>")
    role: Role = Field(description="active/spare: the two prod clusters; dev; local: this machine's libvirtd")

    @property
    def domain(self) -> str:
        return f"{self.name}.{self.base_domain}"

    @property
    def is_prod(self) -> bool:
        return self.role in ("active", "spare")


class ClusterSpec(Strict):
    """One stack's cluster, after layering the baseline and the stack file."""

    cluster: Cluster
    libvirt: Libvirt = Libvirt()
    hosts: tuple[Host, ...] = Field(min_length=1)
    network: Network
    os_image: OsImage | None = Field(None, description="default: the image paired with the OKD release")
    nodes: Nodes
    okd: Okd = Okd()
    apps: Apps = Apps()  # type: ignore[valid-type]  # made from the app modules by the registry
    existing_cluster: ExistingCluster | None = Field(
        None, description="deploy only the apps, onto a cluster the stack does not build (given by kubeconfig)")


# Top-level config keys (`eaf:<key>`) the program reads, besides the secrets.
SPEC_KEYS = ("cluster", "libvirt", "hosts", "network", "osImage", "nodes", "okd", "apps", "existingCluster")
LAYERING_KEYS = ("baseline",)
SECRET_KEYS = ("pullSecret", "sshPublicKeys")  # what a stack that builds its cluster needs
# What a stack that deploys onto an existing cluster (eaf:existingCluster) needs instead.
EXISTING_CLUSTER_SECRET_KEYS = (KUBECONFIG_KEY,)
# Secrets only enabled apps need (each app's definition declares its own); infra/apps/validate.py requires each
# when its app is on.
APP_SECRET_KEYS = app_secret_keys()

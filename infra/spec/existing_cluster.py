"""A cluster the stack does not build: the apps layer alone, onto the cluster a kubeconfig names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.spec.base import DnsLabel, Strict

# The stack secret holding the cluster's kubeconfig (eaf:<key>).
KUBECONFIG_KEY = "existingClusterKubeconfig"


class ExistingCluster(Strict):
    """Set: no VM, no network, no OKD install; only the apps, onto the cluster of eaf:existingClusterKubeconfig
    (a migration's redeploy onto a cluster built elsewhere, or a plain Kubernetes for the apps' own tests)."""

    platform: Literal["okd", "kubernetes"] = Field(
        description="okd: an OKD 4 cluster (every object as on the stacks' own); kubernetes: any other, where the "
        "OKD-only kinds are mapped or left out (infra/data/platforms.yaml)")
    ingress_class: DnsLabel | None = Field(
        None, description="kubernetes: the IngressClass the apps' Routes become Ingresses of")

    @model_validator(mode="after")
    def _ingress_class_on_kubernetes_only(self) -> ExistingCluster:
        if self.platform == "kubernetes" and self.ingress_class is None:
            raise ValueError("platform kubernetes has no OKD router: it needs `ingressClass`, the IngressClass the "
                             "apps' Routes become Ingresses of, e.g. ingressClass: nginx")
        if self.platform == "okd" and self.ingress_class is not None:
            raise ValueError("platform okd serves the apps through its own router (Routes): `ingressClass` is for "
                             "platform kubernetes only; remove it")
        return self

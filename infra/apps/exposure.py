"""An app's public entry: a Route under the router's wildcard name, or an Ingress with its own certificate.

OKD's router serves its wildcard certificate for `*.apps.<cluster domain>` only. An app whose hostname is a facility
name (jupyter.eaf.fnal.gov, ...: the names the migration's DNS switch points at the active cluster,
infra/data/migration.yaml) is exposed through an Ingress naming the Secret of its cert-manager Certificate
(infra/apps/tls.py); OKD's ingress controller turns the Ingress into an edge Route carrying that certificate and
keeps the Route in step with the Secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from infra.apps import objects as o
from infra.spec.apps import AppSettings
from infra.spec.base import DnsName

INGRESS_CLASS = "openshift-default"  # the IngressClass of OKD's default router


class TlsSettings(AppSettings):
    """cert-manager certificates for the apps' hostnames outside `*.apps.<cluster domain>`."""

    issuer: DnsName | None = Field(None, description="the site's cert-manager (Cluster)Issuer; required when "
                                   "enabled")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"


def needs_certificate(host: str, cluster_domain: str) -> bool:
    """The router's wildcard certificate covers one label under apps.<cluster domain>, nothing else."""
    prefix, _, rest = host.partition(".")
    return not (rest == f"apps.{cluster_domain}" and prefix)


def secret_name(name: str) -> str:
    return f"{name}-tls"


def exposure(name: str, ns: str, app: str, host: str, service: str, port: str, cluster_domain: str,
             settings: TlsSettings) -> dict[str, Any]:
    """The app's public entry: a Route under the router's wildcard name, else an Ingress with its certificate."""
    if not (settings.enabled and needs_certificate(host, cluster_domain)):
        return o.route(name, ns, app, host, service, port)
    meta = o.metadata(name, ns, app, "ingress")
    meta["annotations"] = {"route.openshift.io/termination": "edge"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": {"ingressClassName": INGRESS_CLASS,
                     "tls": [{"hosts": [host], "secretName": secret_name(name)}],
                     "rules": [{"host": host, "http": {"paths": [{
                         "path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": service, "port": {"name": port}}}}]}}]}}

"""TLS for the facility's own hostnames through the site's cert-manager: one Certificate per hostname outside
`*.apps.<cluster domain>`, from the (Cluster)Issuer the site names, in its app's namespace; the app's Ingress
(infra/apps/exposure.py) names the certificate's Secret. The site runs cert-manager and the issuer (docs/apps.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.apps import keycloak, mlflow, monitoring
from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.exposure import TlsSettings, needs_certificate, secret_name
from infra.plan.model import ClusterPlan
from infra.spec.errors import Problem

APP = "eaf-tls"


@dataclass(frozen=True)
class Exposed:
    """An app's public hostname, as the apps layer names it."""

    app: str  # AppDefinition.key
    name: str  # its Route/Ingress and the certificate's name
    hostname: Callable[[Any, str], str]  # (apps settings, cluster domain) -> hostname


# The apps whose public entry goes through `exposure` below. JupyterHub still registers a Route with the
# router's certificate: it joins this table when its module calls `exposure`.
EXPOSED = (
    Exposed("keycloak", "keycloak", lambda apps, domain: keycloak.hostname(apps.keycloak, domain)),
    Exposed("mlflow", "mlflow", lambda apps, domain: mlflow.hostname(apps.mlflow, domain)),
    Exposed("monitoring", "grafana", lambda apps, domain: monitoring.grafana_hostname(apps.monitoring, domain)),
)


def certificate(name: str, ns: str, host: str, settings: TlsSettings) -> dict[str, Any]:
    assert settings.issuer is not None  # checked by `problems`
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": o.metadata(name, ns, APP, name),
            "spec": {"secretName": secret_name(name), "dnsNames": [host],
                     "issuerRef": {"group": "cert-manager.io", "kind": settings.issuer_kind, "name": settings.issuer},
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}}}


def certificates(context: AppContext) -> list[dict[str, Any]]:
    assert context.plan is not None
    apps, domain = context.apps, context.plan.domain
    enabled = {d.key for d in apps.enabled()}
    found = []
    for exposed in EXPOSED:
        host = exposed.hostname(apps, domain)
        if exposed.app in enabled and needs_certificate(host, domain):
            found.append(certificate(exposed.name, getattr(apps, exposed.app).namespace, host, apps.tls))
    return found


def build(context: AppContext) -> AppBuild:
    """Each certificate sits in its app's namespace (created by that app: the object waits for it)."""
    objects = certificates(context)
    return AppBuild((ObjectGroup("objects", objects),) if objects else (),
                    outputs={"certificates": sorted(c["spec"]["dnsNames"][0] for c in objects)})


def hostname_problems(apps: Any, plan: ClusterPlan | None) -> list[Problem]:
    """A facility hostname without cert-manager would be served the router's certificate for *.apps: every
    browser refuses it."""
    if plan is None or apps.tls.enabled:
        return []
    enabled = {d.key for d in apps.enabled()}
    return [Problem(f"eaf:apps.{exposed.app}.hostname", host, "the name is outside *.apps.<cluster domain>, whose "
                    "wildcard certificate is the only one the router has",
                    "set eaf:apps.tls.enabled: true with the site's issuer (eaf:apps.tls.issuer)")
            for exposed in EXPOSED if exposed.app in enabled
            for host in [exposed.hostname(apps, plan.domain)] if needs_certificate(host, plan.domain)]


def problems(context: AppContext) -> list[Problem]:
    if context.apps.tls.issuer is None:
        return [Problem("eaf:apps.tls.issuer", None, "certificates for the facility's hostnames come from the site's "
                        "cert-manager issuer, which is not named",
                        "set eaf:apps.tls.issuer (and issuerKind: ClusterIssuer or Issuer)")]
    return []


DEFINITION = AppDefinition(key="tls", settings=TlsSettings, description="cert-manager certificates for the "
                           "facility's hostnames", component="Tls", build=build, problems=problems,
                           uses_credentials=False)

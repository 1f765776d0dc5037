"""Keycloak with its realm as code: the `eaf` realm brokers logins to the lab's identity provider, maps the VO
groups of its claim to Keycloak groups, and holds the OIDC clients of the apps behind it (MLflow).

The realm is applied on every `up` that changes it: an init container runs Keycloak's `import --override true`
(Keycloak 24's documented way to overwrite an existing realm; the server's `--import-realm` skips one that exists)
before the server starts, and the pod template carries the realm document's sha256, so a realm change rolls the
pod. The Deployment recreates its pod, so no server runs while the import writes (the import needs every node
stopped). Overwriting drops the realm's brokered users, who hold nothing of their own: each next login creates
them again from the lab's identity provider, with its groups (mapper sync mode FORCE).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from infra.apps import objects as o
from infra.apps import postgres, storage
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, OidcClient, SecretNeed
from infra.apps.credentials import KEYCLOAK_UPSTREAM_SECRET
from infra.apps.exposure import TlsSettings, exposure
from infra.apps.images import image
from infra.spec.apps import AppSettings, Compute, Oidc, compute
from infra.spec.base import DnsLabel, DnsName
from infra.spec.errors import Problem

APP = "keycloak"
UPSTREAM_ALIAS = "fnal-sso"
REALM_SECRET = "realm-import"
REALM_DIR = "/opt/keycloak/data/import"
REALM_DIGEST_ANNOTATION = "eaf.fnal.gov/realm-sha256"


class KeycloakSettings(AppSettings):
    """Keycloak for the apps that need OIDC roles (MLflow); users log in through the lab's identity provider,
    brokered by the realm (client secret at the lab's IdP: the stack secret `eaf:keycloakUpstreamClientSecret`)."""

    namespace: DnsLabel = "keycloak"
    hostname: DnsName | None = Field(None, description="default: keycloak.apps.<cluster domain>")
    realm: DnsLabel = "eaf"
    upstream: Oidc | None = Field(None, description="the lab's identity provider; required when enabled")
    db_gib: int = Field(10, alias="dbGiB", gt=0)
    db_storage_class: str | None = None
    compute: Compute = compute((0.5, 2), (1, 2))


def hostname(settings: KeycloakSettings, cluster_domain: str) -> str:
    return settings.hostname or f"keycloak.apps.{cluster_domain}"


def issuer(settings: KeycloakSettings, cluster_domain: str) -> str:
    """The realm's issuer URL, which the apps behind Keycloak trust."""
    return f"https://{hostname(settings, cluster_domain)}/realms/{settings.realm}"


@dataclass(frozen=True)
class KeycloakArgs:
    settings: KeycloakSettings
    cluster_domain: str
    vo_groups: tuple[str, ...]
    clients: tuple[OidcClient, ...]
    admin_password: Any  # pulumi.Input[str]
    db_password: Any
    upstream_secret: Any
    monitoring: bool = False
    tls: TlsSettings = TlsSettings()

    @property
    def hostname(self) -> str:
        return hostname(self.settings, self.cluster_domain)

    @property
    def issuer(self) -> str:
        return issuer(self.settings, self.cluster_domain)


def realm(args: KeycloakArgs, upstream_secret: str, client_secrets: list[str]) -> dict[str, Any]:
    """The realm import document (plain values: called inside an apply, the result stays secret)."""
    upstream = args.settings.upstream
    assert upstream is not None  # validated by infra/apps/validate.py
    base = upstream.issuer.rstrip("/")
    group_mappers = [{"name": f"group-{group}", "identityProviderAlias": UPSTREAM_ALIAS,
                      "identityProviderMapper": "oidc-advanced-group-idp-mapper",
                      "config": {"syncMode": "FORCE", "group": f"/{group}", "are.claim.values.regex": "false",
                                 "claims": json.dumps([{"key": upstream.groups_claim, "value": group}])}}
                     for group in args.vo_groups]
    clients = [{"clientId": client.client_id, "enabled": True, "protocol": "openid-connect",
                "publicClient": False, "standardFlowEnabled": True, "directAccessGrantsEnabled": False,
                "secret": secret, "redirectUris": list(client.redirect_uris),
                "protocolMappers": [{"name": "groups", "protocol": "openid-connect",
                                     "protocolMapper": "oidc-group-membership-mapper",
                                     "config": {"claim.name": "groups", "full.path": "false",
                                                "id.token.claim": "true", "access.token.claim": "true",
                                                "userinfo.token.claim": "true"}}]}
               for client, secret in zip(args.clients, client_secrets, strict=True)]
    return {
        "realm": args.settings.realm, "enabled": True, "sslRequired": "external",
        "registrationAllowed": False, "loginWithEmailAllowed": False,
        "groups": [{"name": group} for group in args.vo_groups],
        "identityProviders": [{
            "alias": UPSTREAM_ALIAS, "providerId": "oidc", "enabled": True, "trustEmail": True,
            "firstBrokerLoginFlowAlias": "first broker login",
            "config": {"issuer": upstream.issuer, "clientId": upstream.client_id, "clientSecret": upstream_secret,
                       "clientAuthMethod": "client_secret_post", "syncMode": "FORCE",
                       "authorizationUrl": f"{base}/as/authorization.oauth2", "tokenUrl": f"{base}/as/token.oauth2",
                       "userInfoUrl": f"{base}/idp/userinfo.openid", "defaultScope": " ".join(upstream.scopes),
                       # Tokens from the lab's identity provider count only with a valid signature by its keys.
                       "validateSignature": "true", "useJwksUrl": "true", "jwksUrl": upstream.jwks_url},
        }],
        "identityProviderMappers": group_mappers,
        # Only the lab's identity provider logs users in: the browser flow redirects straight to it.
        "browserFlow": "browser",
        "clients": clients,
    }


def _realm_json(args: KeycloakArgs) -> Any:
    import pulumi

    values = pulumi.Output.all(args.upstream_secret, *[c.secret for c in args.clients])
    return pulumi.Output.secret(values.apply(
        lambda v: json.dumps(realm(args, v[0], list(v[1:])), indent=1, sort_keys=True) + "\n"))


def _sha256(document: Any) -> Any:
    """The realm document's digest (a one-way digest of secrets; kept secret all the same)."""
    import pulumi

    return pulumi.Output.secret(pulumi.Output.from_input(document).apply(
        lambda text: hashlib.sha256(text.encode()).hexdigest()))


def manifests(args: KeycloakArgs) -> list[dict[str, Any]]:
    settings, ns = args.settings, args.settings.namespace
    db = postgres.manifests("keycloak-db", ns, APP, "keycloak", "keycloak", args.db_password, settings.db_gib,
                            settings.db_storage_class)
    database = [
        {"name": "KC_DB", "value": "postgres"},
        {"name": "KC_DB_URL", "value": f"jdbc:postgresql://{postgres.url('keycloak-db', ns, 'keycloak')}"},
        {"name": "KC_DB_USERNAME", "value": "keycloak"},
        {"name": "KC_DB_PASSWORD",
         "valueFrom": {"secretKeyRef": {"name": postgres.secret_name("keycloak-db"), "key": "password"}}},
    ]
    realm_document = _realm_json(args)
    realm_file = f"{REALM_DIR}/{settings.realm}-realm.json"
    env = [
        *database,
        {"name": "KC_HOSTNAME", "value": args.hostname},
        # TLS ends at the OKD router; Keycloak trusts its forwarded headers.
        {"name": "KC_HTTP_ENABLED", "value": "true"},
        {"name": "KC_PROXY_HEADERS", "value": "xforwarded"},
        {"name": "KC_HEALTH_ENABLED", "value": "true"},
        {"name": "KC_METRICS_ENABLED", "value": "true"},
        {"name": "KEYCLOAK_ADMIN", "value": "admin"},
        {"name": "KEYCLOAK_ADMIN_PASSWORD",
         "valueFrom": {"secretKeyRef": {"name": "keycloak-admin", "key": "password"}}},
    ]
    realm_mount = [{"name": "realm", "mountPath": REALM_DIR, "readOnly": True}]
    pod = {
        "metadata": {"labels": o.labels(APP, "keycloak"),
                     "annotations": {REALM_DIGEST_ANNOTATION: _sha256(realm_document)}},
        "spec": {"initContainers": [{
            "name": "realm-import", "image": image("keycloak"),
            "args": ["import", "--file", realm_file, "--override", "true"],
            "env": database, "resources": o.resources(settings.compute), "securityContext": o.hardened(),
            "volumeMounts": realm_mount,
        }], "containers": [{
            "name": "keycloak", "image": image("keycloak"),
            "args": ["start"],
            "env": env,
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/health/ready", "port": "http"}, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": "/health/live", "port": "http"}, "initialDelaySeconds": 120,
                              "periodSeconds": 20},
            "resources": o.resources(settings.compute),
            "securityContext": o.hardened(),
            "volumeMounts": realm_mount,
        }],
            "volumes": [{"name": "realm", "secret": {"secretName": REALM_SECRET}}]},
    }
    return [
        o.namespace(ns, APP),
        *db,
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": o.metadata("keycloak-admin", ns, APP,
                                                                                        "keycloak"),
         "stringData": {"password": args.admin_password}},
        # The realm holds client secrets, so it is a Secret; the init container overwrites the realm from it.
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": o.metadata(REALM_SECRET, ns, APP,
                                                                                        "keycloak"),
         "stringData": {f"{settings.realm}-realm.json": realm_document}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": o.metadata("keycloak", ns, APP, "keycloak"),
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": o.selector(APP, "keycloak")}, "template": pod}},
        o.service("keycloak", ns, APP, "keycloak", [("http", 8080, 8080)]),
        exposure("keycloak", ns, APP, args.hostname, "keycloak", "http", args.cluster_domain, args.tls),
        *([o.service_monitor("keycloak", ns, APP, "keycloak", "http", "/metrics")] if args.monitoring else []),
    ]


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None and context.credentials is not None and context.catalog is not None
    credentials = context.credentials
    clients = tuple(c for d in context.apps.enabled() for c in d.oidc_clients(context))
    # The database claim names its class: the app's setting, else the stack's default (infra/apps/storage.py).
    settings = context.apps.keycloak.model_copy(update={
        "db_storage_class": storage.class_for(context.apps, context.apps.keycloak.db_storage_class)})
    args = KeycloakArgs(settings, context.plan.domain, tuple(sorted(context.catalog.groups)), clients,
                        credentials.derived("keycloak-admin"), credentials.derived("keycloak-db"),
                        credentials.stack_secret(KEYCLOAK_UPSTREAM_SECRET), context.apps.monitoring.enabled,
                        context.apps.tls)
    namespace, *objects = manifests(args)
    url = f"https://{args.hostname}"
    return AppBuild((ObjectGroup("namespaces", [namespace]), ObjectGroup("objects", objects)),
                    exports={"keycloak": url}, outputs={"url": url, "issuer": args.issuer})


def problems(context: AppContext) -> list[Problem]:
    upstream = context.apps.keycloak.upstream
    if upstream is None:
        return [Problem("eaf:apps.keycloak.upstream", None, "the realm brokers logins to the lab's identity "
                        "provider, which is not set",
                        "set upstream: {issuer: https://..., clientId: ..., jwksUrl: https://...}")]
    if upstream.jwks_url is None:
        return [Problem("eaf:apps.keycloak.upstream.jwksUrl", None, "Keycloak must check the signature of every "
                        "token of the lab's identity provider, with the provider's published keys",
                        "set jwksUrl: the provider's JWKS URL (PingFederate: <issuer>/pf/JWKS)")]
    return []


DEFINITION = AppDefinition(
    key="keycloak", settings=KeycloakSettings, description="Keycloak realm as code, brokering the lab's SSO",
    component="Keycloak", build=build, problems=problems,
    secrets=(SecretNeed(KEYCLOAK_UPSTREAM_SECRET, "Keycloak's client secret at the lab's identity provider",
                        f"pulumi config set --secret eaf:{KEYCLOAK_UPSTREAM_SECRET} -s {{stack}} < FILE"),))

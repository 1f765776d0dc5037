"""MLflow behind Keycloak: the realm and its client as code, the database and artifact store, no way around login."""

from __future__ import annotations

import hashlib
import json

import pytest

from infra.spec.errors import ConfigError
from tests.apps.manifests import chart_values, manifests_for, manifests_of, named, run_for
from tests.harness import DEPLOYED_STACKS, run_stack


def _realm(stack: str) -> dict:
    secret = named(manifests_for(stack), "Secret", "realm-import", "keycloak")
    return json.loads(secret["stringData"]["eaf-realm.json"])


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_realm_has_an_mlflow_client_whose_secret_the_proxy_uses(stack):
    manifests = manifests_for(stack)
    (client,) = [c for c in _realm(stack)["clients"] if c["clientId"] == "mlflow"]
    assert client["publicClient"] is False and client["standardFlowEnabled"] is True
    host = {"dev": "mlflow.apps.eaf-dev.fnal.gov", "prod-a": "mlflow.eaf.fnal.gov", "prod-b": "mlflow.eaf.fnal.gov"}
    assert client["redirectUris"] == [f"https://{host[stack]}/oauth2/callback"]
    proxy_secret = named(manifests, "Secret", "mlflow-oidc", "mlflow")["stringData"]["client-secret"]
    assert client["secret"] == proxy_secret and len(proxy_secret) == 64


def test_the_realm_brokers_to_the_lab_sso_and_maps_vo_groups():
    realm = _realm("dev")
    (provider,) = realm["identityProviders"]
    assert provider["config"]["issuer"] == "https://pingprod.fnal.gov"
    assert provider["config"]["clientId"] == "eaf-keycloak-dev"
    assert provider["config"]["clientSecret"] == "test-only-keycloak-upstream-secret"
    mapped = {m["config"]["group"]: json.loads(m["config"]["claims"]) for m in realm["identityProviderMappers"]}
    assert mapped["/cms"] == [{"key": "groups", "value": "cms"}]
    assert {g["name"] for g in realm["groups"]} == {"cms", "dune", "fife", "astro", "accel-ai"}


def test_the_realm_is_a_secret_not_a_configmap():
    manifests = manifests_for("dev")
    assert not [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["namespace"] == "keycloak"]
    keycloak = named(manifests, "Deployment", "keycloak", "keycloak")["spec"]["template"]["spec"]
    assert keycloak["volumes"] == [{"name": "realm", "secret": {"secretName": "realm-import"}}]


def test_keycloak_checks_the_upstream_token_signatures_with_its_published_keys():
    (provider,) = _realm("prod-a")["identityProviders"]
    assert provider["config"]["validateSignature"] == "true"
    assert provider["config"]["useJwksUrl"] == "true"
    assert provider["config"]["jwksUrl"] == "https://pingprod.fnal.gov/pf/JWKS"


def _keycloak_pod(run) -> dict:
    return named(manifests_of(run), "Deployment", "keycloak", "keycloak")["spec"]["template"]


def test_the_realm_is_overwritten_from_its_document_before_the_server_starts():
    deployment = named(manifests_for("dev"), "Deployment", "keycloak", "keycloak")["spec"]
    assert deployment["strategy"] == {"type": "Recreate"}, "the import needs every Keycloak server stopped"
    pod = deployment["template"]["spec"]
    (importer,) = pod["initContainers"]
    assert importer["args"] == ["import", "--file", "/opt/keycloak/data/import/eaf-realm.json", "--override", "true"]
    assert importer["image"] == pod["containers"][0]["image"], "the import is the pinned Keycloak's own"
    assert {e["name"] for e in importer["env"]} == {"KC_DB", "KC_DB_URL", "KC_DB_USERNAME", "KC_DB_PASSWORD"}
    assert pod["containers"][0]["args"] == ["start"], "no --import-realm: it skips a realm that exists"


def test_a_realm_change_changes_the_pod_template_so_the_next_up_reimports_it():
    before = _keycloak_pod(run_for("dev"))["metadata"]["annotations"]["eaf.fnal.gov/realm-sha256"]
    realm = json.dumps(_realm("dev"), indent=1, sort_keys=True) + "\n"
    assert before == hashlib.sha256(realm.encode()).hexdigest()
    changed = run_stack("dev", overrides={"apps": {"keycloak": {"upstream": {
        "issuer": "https://pingprod.fnal.gov", "clientId": "eaf-keycloak-dev-2",
        "jwksUrl": "https://pingprod.fnal.gov/pf/JWKS"}}}})
    after = _keycloak_pod(changed)["metadata"]["annotations"]["eaf.fnal.gov/realm-sha256"]
    assert after != before
    unchanged = _keycloak_pod(run_stack("dev"))["metadata"]["annotations"]["eaf.fnal.gov/realm-sha256"]
    assert unchanged == before, "the same realm keeps the same pod: no re-import without a change"


def test_an_upstream_without_its_jwks_url_is_refused():
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"keycloak": {"upstream": {
            "issuer": "https://pingprod.fnal.gov", "clientId": "eaf-keycloak-dev", "jwksUrl": None}}}})
    message = str(caught.value)
    assert "eaf:apps.keycloak.upstream.jwksUrl" in message and "signature" in message
    assert "PingFederate: <issuer>/pf/JWKS" in message


def test_mlflow_listens_only_on_localhost_behind_the_oauth2_proxy():
    manifests = manifests_for("prod-a")
    pod = named(manifests, "Deployment", "mlflow", "mlflow")["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    command = containers["mlflow"]["command"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "ports" not in containers["mlflow"], "MLflow's own port must not be exposed"
    proxy = containers["oauth2-proxy"]["args"]
    assert "--oidc-issuer-url=https://keycloak.eaf.fnal.gov/realms/eaf" in proxy
    assert "--upstream=http://127.0.0.1:5000" in proxy
    assert {a.split("=", 1)[1] for a in proxy if a.startswith("--allowed-group=")} == {
        "cms", "dune", "fife", "astro", "accel-ai"}
    service = named(manifests, "Service", "mlflow", "mlflow")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [4180, 44180], "the proxy and its metrics only"
    (path,) = named(manifests, "Ingress", "mlflow", "mlflow")["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "mlflow", "port": {"name": "http"}}, "only the proxy's login port"
    route = named(manifests_for("dev"), "Route", "mlflow", "mlflow")
    assert route["spec"]["port"] == {"targetPort": "http"}, "the Route reaches only the proxy's login port"


def test_mlflow_stores_runs_in_its_postgresql_and_artifacts_on_a_volume():
    manifests = manifests_for("dev")
    uri = named(manifests, "Secret", "mlflow-backend", "mlflow")["stringData"]["uri"]
    assert uri.startswith("postgresql+psycopg2://mlflow:") and uri.endswith("@mlflow-db.mlflow.svc:5432/mlflow")
    database = named(manifests, "StatefulSet", "mlflow-db", "mlflow")["spec"]
    assert database["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    password = named(manifests, "Secret", "mlflow-db-credentials", "mlflow")["stringData"]["password"]
    assert f"mlflow:{password}@" in uri, "the URI carries the database's own password"
    claim = named(manifests, "PersistentVolumeClaim", "mlflow-artifacts", "mlflow")
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"


def test_every_app_credential_is_distinct():
    manifests = manifests_for("dev")
    values = [named(manifests, "Secret", "keycloak-admin", "keycloak")["stringData"]["password"],
              named(manifests, "Secret", "keycloak-db-credentials", "keycloak")["stringData"]["password"],
              named(manifests, "Secret", "mlflow-db-credentials", "mlflow")["stringData"]["password"],
              named(manifests, "Secret", "grafana-admin", "eaf-monitoring")["stringData"]["password"],
              chart_values("dev", "jupyterhub")["hub"]["cookieSecret"]]
    assert len(set(values)) == len(values)
    assert len(named(manifests, "Secret", "mlflow-oidc", "mlflow")["stringData"]["cookie-secret"]) == 32


def test_a_missing_keycloak_upstream_secret_says_how_to_set_it():
    from infra.spec.errors import ConfigError
    from tests.harness import run_stack

    with pytest.raises(ConfigError) as caught:
        run_stack("prod-b", secrets={"keycloakUpstreamClientSecret": None})
    assert "pulumi config set --secret eaf:keycloakUpstreamClientSecret -s prod-b" in str(caught.value)

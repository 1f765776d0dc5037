"""The facility's names: each prod cluster answers to the names the migration's DNS switch points at the active
one, and serves each with a certificate from the site's cert-manager issuer."""

from __future__ import annotations

import pytest

from infra.ops.migrate import load_migration_data
from infra.ops.traffic import targets_for
from infra.spec.errors import ConfigError
from tests.apps.manifests import manifests_for, named
from tests.harness import run_stack

PROD = ("prod-a", "prod-b")


def _entries(manifests) -> dict[str, dict]:
    """Public hostname -> the Route or Ingress that serves it."""
    found = {m["spec"]["host"]: m for m in manifests if m["kind"] == "Route"}
    found.update({rule["host"]: m for m in manifests if m["kind"] == "Ingress" for rule in m["spec"]["rules"]})
    return found


@pytest.mark.parametrize("stack", PROD)
def test_every_name_the_dns_switch_flips_is_served_by_the_cluster(stack):
    entries = _entries(manifests_for(stack))
    names = load_migration_data().service_names
    assert {"jupyter.eaf.fnal.gov", "grafana.eaf.fnal.gov", "keycloak.eaf.fnal.gov",
            "mlflow.eaf.fnal.gov"} <= set(names)
    missing = [name for name in names if name not in entries]
    assert not missing, f"{stack}: no Route or Ingress answers to {missing}"


@pytest.mark.parametrize("stack", PROD)
def test_the_switch_targets_are_under_the_clusters_own_wildcard(stack):
    domain = f"eaf-{stack}.fnal.gov"
    targets = targets_for(load_migration_data().service_names, domain)
    assert targets["keycloak.eaf.fnal.gov"] == f"keycloak.apps.{domain}"
    assert all(target.endswith(f".apps.{domain}") for target in targets.values())


@pytest.mark.parametrize("stack", PROD)
def test_facility_names_get_a_cert_manager_certificate_from_the_site_issuer_and_an_ingress_with_it(stack):
    manifests = manifests_for(stack)
    for app in ("keycloak", "mlflow"):
        certificate = named(manifests, "Certificate", app, app)
        assert certificate["spec"]["dnsNames"] == [f"{app}.eaf.fnal.gov"]
        assert certificate["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer",
                                                    "name": "fnal-facility-issuer"}
        ingress = named(manifests, "Ingress", app, app)
        assert ingress["spec"]["tls"] == [{"hosts": [f"{app}.eaf.fnal.gov"], "secretName": f"{app}-tls"}]
        assert ingress["spec"]["ingressClassName"] == "openshift-default"
        assert ingress["metadata"]["annotations"] == {"route.openshift.io/termination": "edge"}
        assert not [m for m in manifests if m["kind"] == "Route" and m["metadata"]["name"] == app
                    and m["metadata"]["namespace"] == app], "one public entry per app"


def test_keycloak_announces_the_facility_name_so_tokens_name_the_issuer_mlflow_trusts():
    manifests = manifests_for("prod-b")
    pod = named(manifests, "Deployment", "keycloak", "keycloak")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["KC_HOSTNAME"] == "keycloak.eaf.fnal.gov"


def test_names_under_the_routers_wildcard_keep_their_route_and_need_no_certificate():
    manifests = manifests_for("dev")
    assert not [m for m in manifests if m["kind"] in ("Certificate", "Ingress")]
    assert named(manifests, "Route", "keycloak", "keycloak")["spec"]["host"] == "keycloak.apps.eaf-dev.fnal.gov"


def _problems(stack, apps) -> str:
    with pytest.raises(ConfigError) as caught:
        run_stack(stack, overrides={"apps": apps})
    return str(caught.value)


def test_a_facility_name_without_cert_manager_is_refused():
    message = _problems("prod-a", {"tls": {"enabled": False}})
    assert "eaf:apps.keycloak.hostname = 'keycloak.eaf.fnal.gov'" in message
    assert "eaf:apps.mlflow.hostname = 'mlflow.eaf.fnal.gov'" in message
    assert "outside *.apps.<cluster domain>" in message and "set eaf:apps.tls.enabled: true" in message


def test_tls_without_the_sites_issuer_is_refused():
    message = _problems("prod-a", {"tls": {"issuer": None}})
    assert "eaf:apps.tls.issuer" in message and "set eaf:apps.tls.issuer" in message


@pytest.mark.parametrize("stack", PROD)
def test_grafanas_facility_name_is_served_with_its_own_certificate(stack):
    manifests = manifests_for(stack)
    certificate = named(manifests, "Certificate", "grafana", "eaf-monitoring")
    assert certificate["spec"]["dnsNames"] == ["grafana.eaf.fnal.gov"]
    ingress = named(manifests, "Ingress", "grafana", "eaf-monitoring")
    assert ingress["spec"]["tls"] == [{"hosts": ["grafana.eaf.fnal.gov"], "secretName": "grafana-tls"}]
    assert not [m for m in manifests if m["kind"] == "Route" and m["metadata"]["name"] == "grafana"]


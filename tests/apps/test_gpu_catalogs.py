"""The GPU path on OKD names only catalogs, packages and images versions.yaml records, each with its evidence.

OKD ships one OLM catalog, community-operators, with neither NFD nor the NVIDIA GPU operator in it: the stack adds
the two catalogs that carry them as CatalogSources in openshift-marketplace, from pinned index images.
"""

from __future__ import annotations

import re

import pytest

from infra.apps import olm
from infra.catalog import CatalogPin, OperatorPin, versions
from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS

GPU_OPERATORS = {"nfd": "openshift-nfd", "gpu-operator": "nvidia-gpu-operator"}


def _catalog_sources(stack: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests_for(stack) if m["kind"] == "CatalogSource"}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_stack_adds_a_catalog_source_for_each_catalog_okd_does_not_ship(stack):
    assert set(_catalog_sources(stack)) == {"eaf-redhat-operators", "eaf-certified-operators"}


def test_no_catalog_source_is_added_for_okds_own_community_catalog():
    # KEDA's subscription names community-operators, which OKD creates itself.
    assert "community-operators" not in _catalog_sources("dev")
    assert named(manifests_for("dev"), "Subscription", "keda", "keda")["spec"]["source"] == "community-operators"


def test_a_catalog_source_serves_its_pinned_index_image_in_the_marketplace_namespace():
    source = _catalog_sources("dev")["eaf-certified-operators"]
    assert source["metadata"]["namespace"] == "openshift-marketplace"
    assert source["spec"]["sourceType"] == "grpc"
    assert source["spec"]["image"] == versions().apps.images["catalog-certified-operators"]
    assert source["spec"]["grpcPodConfig"] == {"securityContextConfig": "restricted"}


@pytest.mark.parametrize("pin", sorted(GPU_OPERATORS))
def test_each_gpu_subscription_names_the_catalog_source_the_stack_adds(pin):
    expected = versions().apps.operators[pin]
    subscription = named(manifests_for("dev"), "Subscription", expected.package, GPU_OPERATORS[pin])["spec"]
    assert subscription["source"] in _catalog_sources("dev")
    assert subscription["sourceNamespace"] == "openshift-marketplace"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_gpu_path_names_only_recorded_catalogs_packages_and_images(stack):
    manifests = manifests_for(stack)
    pins = versions().apps
    gpu_namespaces = set(GPU_OPERATORS.values())
    subscriptions = [m["spec"] for m in manifests if m["kind"] == "Subscription"
                     and m["metadata"]["namespace"] in gpu_namespaces]
    recorded = {(p.package, p.channel, p.starting_csv, p.source) for p in pins.operators.values()}
    assert len(subscriptions) == 2
    assert {(s["name"], s["channel"], s["startingCSV"], s["source"]) for s in subscriptions} <= recorded
    assert {s["source"] for s in subscriptions} <= set(pins.catalogs)
    images = {s["spec"]["image"] for s in _catalog_sources(stack).values()}
    assert images <= set(pins.images.values())


def test_every_recorded_catalog_cites_where_its_content_is_documented():
    for name, catalog in versions().apps.catalogs.items():
        assert re.match(r"^https://(github\.com|docs\.nvidia\.com)/", catalog.evidence), name


def test_the_added_catalogs_are_the_index_of_the_pinned_okd_minor():
    # Red Hat tags its index images by OpenShift minor; an index of another minor offers other CSVs.
    okd = versions().okd
    release_minor = ".".join(okd.default.split(".")[:2])
    for name, catalog in versions().apps.catalogs.items():
        if not catalog.built_in:
            assert versions().apps.images[catalog.image].endswith(f":v{release_minor}"), name


def test_the_added_catalogs_name_the_registry_the_clusters_pull_credentials_must_cover():
    added = {n: c for n, c in versions().apps.catalogs.items() if not c.built_in}
    assert {c.authenticated_registry for c in added.values()} == {"registry.redhat.io"}
    assert all(versions().apps.images[c.image].startswith("registry.redhat.io/") for c in added.values())


def test_the_recorded_pins_have_no_catalog_problem():
    assert olm.catalog_problems() == []


def _with(monkeypatch, operators=None, catalogs=None):
    apps = versions().apps
    changed = apps.model_copy(update={"operators": operators or apps.operators, "catalogs": catalogs or apps.catalogs})
    monkeypatch.setattr(olm, "versions", lambda: versions().model_copy(update={"apps": changed}))


def test_a_subscription_naming_an_unrecorded_catalog_is_refused(monkeypatch):
    operators = {**versions().apps.operators,
                 "nfd": OperatorPin(package="nfd", channel="stable", startingCSV="nfd.4.15.0",
                                    source="redhat-operators")}
    _with(monkeypatch, operators=operators)
    [problem] = olm.catalog_problems()
    assert problem.path == "infra/data/versions.yaml apps.operators.nfd.source"
    assert problem.value == "redhat-operators"
    assert "not a catalog recorded in apps.catalogs" in problem.why
    assert "community-operators" in problem.fix


def test_an_added_catalog_without_a_pinned_index_image_is_refused(monkeypatch):
    catalogs = {**versions().apps.catalogs,
                "eaf-certified-operators": CatalogPin(image="certified-index", displayName="x", publisher="y",
                                                      evidence="https://docs.nvidia.com/")}
    _with(monkeypatch, catalogs=catalogs)
    [problem] = olm.catalog_problems()
    assert problem.path == "infra/data/versions.yaml apps.catalogs.eaf-certified-operators.image"
    assert "must be a key of infra/data/versions.yaml apps.images" in problem.why


def test_a_built_in_catalog_with_an_image_is_refused(monkeypatch):
    catalogs = {**versions().apps.catalogs,
                "community-operators": CatalogPin(builtIn=True, image="catalog-redhat-operators", displayName="x",
                                                  publisher="y", evidence="https://github.com/")}
    _with(monkeypatch, catalogs=catalogs)
    [problem] = olm.catalog_problems()
    assert problem.path == "infra/data/versions.yaml apps.catalogs.community-operators.image"
    assert "OKD's own" in problem.why

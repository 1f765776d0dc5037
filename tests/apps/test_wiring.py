"""How the apps reach the cluster: one provider from the install's kubeconfig, after install-complete."""

from __future__ import annotations

import pytest

from tests.apps.manifests import apps_resources, manifests_for, run_for
from tests.harness import DEPLOYED_STACKS


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_app_object_uses_the_one_cluster_provider(stack):
    run = run_for(stack)
    providers = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1, f"{stack}: {[p.urn for p in providers]}"
    for resource in apps_resources(run):
        assert resource.provider.startswith(providers[0].urn), f"{resource.urn} uses {resource.provider}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_cluster_provider_and_so_every_app_object_waits_for_the_install_to_complete(stack):
    run = run_for(stack)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    waits_for = {run.by_urn(urn).name for urn in provider.dependencies}
    assert "okd-bring-up-wait-install-complete" in waits_for, f"{provider.urn} waits for {waits_for}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_each_app_is_its_own_component(stack):
    components = sorted(r.type for r in run_for(stack).resources if r.type.startswith("eaf:apps:"))
    tls = ["eaf:apps:Tls"] if stack != "dev" else []  # certificates for the prod clusters' facility names
    assert components == ["eaf:apps:DaskGateway", "eaf:apps:GpuOperator", "eaf:apps:Identity", "eaf:apps:JupyterHub",
                          "eaf:apps:Keycloak",
                          "eaf:apps:Mlflow", "eaf:apps:Monitoring", "eaf:apps:NodeSettings", "eaf:apps:Storage",
                          *tls, "eaf:apps:Triton"]


def test_the_local_stack_registers_no_app_object():
    run = run_for("local")
    assert [r.urn for r in run.resources if r.type.startswith(("eaf:apps:", "kubernetes:"))] == []


def test_an_app_switched_off_registers_nothing_of_it():
    from tests.harness import run_stack

    run = run_stack("prod-a", overrides={"apps": {"triton": {"enabled": False}}})
    assert not [r.urn for r in run.resources if r.type == "eaf:apps:Triton" or "keda.sh" in r.type]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_objects_in_a_namespace_depend_on_that_namespace(stack):
    run = run_for(stack)
    namespaces = {r.inputs["metadata"]["name"]: r.urn for r in apps_resources(run)
                  if r.type == "kubernetes:core/v1:Namespace"}
    for resource in apps_resources(run):
        ns = resource.inputs.get("metadata", {}).get("namespace")
        if ns in namespaces:
            assert namespaces[ns] in resource.dependencies, f"{resource.urn} does not wait for namespace {ns}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_manifests_are_the_same_on_every_run(stack):
    from tests.apps.manifests import manifests_of
    from tests.harness import run_stack

    assert manifests_of(run_stack(stack)) == manifests_for(stack)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_object_name_is_unique_per_kind_and_namespace(stack):
    keys = [(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in manifests_for(stack)]
    assert len(keys) == len(set(keys))


def test_the_apps_output_is_empty_when_there_is_no_cluster():
    assert run_for("local").outputs["apps"] == {}


def test_the_apps_output_names_each_apps_address():
    assert run_for("prod-a").outputs["apps"] == {
        "daskGateway": "http://traefik-dask-gateway.dask-gateway.svc:80",
        "grafana": "https://grafana.eaf.fnal.gov",
        "jupyterhub": "https://jupyter.eaf.fnal.gov",
        "keycloak": "https://keycloak.eaf.fnal.gov",
        "mlflow": "https://mlflow.eaf.fnal.gov",
        "triton": "http://tritonserver.triton.svc:8000",
    }

"""The last guard before registration: built manifests that the API server would refuse are named first."""

from __future__ import annotations

import copy

import pytest

from infra.apps.checks import manifest_problems, quantity
from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_built_manifests_of_every_stack_pass(stack):
    assert manifest_problems(manifests_for(stack)) == []


def _built() -> list[dict]:
    return copy.deepcopy(manifests_for("dev"))


def test_a_deployment_whose_selector_misses_its_pod_labels_is_named():
    manifests = _built()
    named(manifests, "Deployment", "mlflow", "mlflow")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = \
        "ml-flow"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Deployment mlflow/mlflow spec.selector"
    assert "selects no pod of its own template" in problem.why


def test_a_container_requesting_more_than_its_limit_is_named():
    manifests = _built()
    container = named(manifests, "Deployment", "mlflow", "mlflow")["spec"]["template"]["spec"]["containers"][1]
    limit = container["resources"]["limits"]["memory"]
    container["resources"]["requests"]["memory"] = "64Gi"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Deployment mlflow/mlflow container oauth2-proxy memory"
    assert problem.why == f"request 64Gi is above limit {limit}"


def test_a_name_that_is_not_rfc1123_is_named():
    manifests = _built()
    named(manifests, "Service", "mlflow-db", "mlflow")["metadata"]["name"] = "MLflow_DB"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Service mlflow/MLflow_DB" and "RFC 1123 label" in problem.why


def test_an_object_in_a_namespace_nobody_creates_is_named():
    manifests = _built()
    named(manifests, "Service", "mlflow-db", "mlflow")["metadata"]["namespace"] = "ml-flow"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Service ml-flow/mlflow-db" and "namespace is neither created" in problem.why


def test_a_gpu_slice_request_must_equal_its_limit():
    manifests = _built()
    pod = named(manifests, "Deployment", "tritonserver", "triton")["spec"]["template"]["spec"]
    pod["containers"][0]["resources"]["limits"]["nvidia.com/mig-3g.40gb"] = "2"
    (problem,) = manifest_problems(manifests)
    assert "must request exactly its limit" in problem.why


@pytest.mark.parametrize("text, value", [("500m", "0.5"), ("4000m", "4"), ("1Gi", "1073741824"), ("2", "2")])
def test_quantities_are_read_exactly(text, value):
    from decimal import Decimal

    assert quantity(text) == Decimal(value)


def test_a_broken_builder_stops_the_program_before_the_cluster_provider_exists(monkeypatch):
    from infra.apps import objects
    from infra.spec.errors import ConfigError
    from tests.harness import run_stack

    monkeypatch.setattr(objects, "selector", lambda app, component: {"app.kubernetes.io/name": f"{app}-typo"})
    with pytest.raises(ConfigError) as caught:
        run_stack("dev")
    message = str(caught.value)
    assert "Deployment mlflow/mlflow spec.selector" in message and "selects no pod of its own template" in message
    assert "nothing was created or changed" in message

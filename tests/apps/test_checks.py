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


def _hub() -> list[dict]:
    return copy.deepcopy(manifests_for("dev"))


def test_a_deployment_whose_selector_misses_its_pod_labels_is_named():
    manifests = _hub()
    named(manifests, "Deployment", "hub", "jupyterhub")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = \
        "jupyter-hub"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Deployment jupyterhub/hub spec.selector"
    assert "selects no pod of its own template" in problem.why


def test_a_container_requesting_more_than_its_limit_is_named():
    manifests = _hub()
    container = named(manifests, "Deployment", "proxy", "jupyterhub")["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["requests"]["memory"] = "2Gi"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Deployment jupyterhub/proxy container chp memory"
    assert problem.why == "request 2Gi is above limit 1024Mi"


def test_a_name_that_is_not_rfc1123_is_named():
    manifests = _hub()
    named(manifests, "Service", "proxy-public", "jupyterhub")["metadata"]["name"] = "Proxy_Public"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Service jupyterhub/Proxy_Public" and "RFC 1123 label" in problem.why


def test_an_object_in_a_namespace_nobody_creates_is_named():
    manifests = _hub()
    named(manifests, "Service", "hub", "jupyterhub")["metadata"]["namespace"] = "jupyter"
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Service jupyter/hub" and "namespace is neither created" in problem.why


def test_a_gpu_slice_request_must_equal_its_limit():
    manifests = _hub()
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
    assert "Deployment jupyterhub/hub spec.selector" in message and "selects no pod of its own template" in message
    assert "nothing was created or changed" in message

"""Awaiting is the default; only a server without controllers gets objects the provider does not wait for."""

from __future__ import annotations

import copy

from infra.apps.kube import Kube, without_awaiting

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "hub", "namespace": "jupyterhub", "annotations": {"owner": "eaf"}}}


def test_objects_are_awaited_unless_said_otherwise() -> None:
    assert Kube(provider=None).await_objects is True  # type: ignore[arg-type]


def test_without_awaiting_skips_readiness_and_deletes_in_the_background() -> None:
    annotations = without_awaiting(DEPLOYMENT)["metadata"]["annotations"]
    assert annotations == {"owner": "eaf", "pulumi.com/skipAwait": "true",
                           "pulumi.com/deletionPropagationPolicy": "background"}


def test_without_awaiting_still_awaits_a_crd_which_the_api_server_itself_establishes() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "a.b"}}
    assert without_awaiting(crd)["metadata"]["annotations"] == {"pulumi.com/deletionPropagationPolicy": "background"}


def test_without_awaiting_leaves_the_built_manifest_as_it_was() -> None:
    built = copy.deepcopy(DEPLOYMENT)
    without_awaiting(built)
    assert built == DEPLOYMENT


def test_a_charts_rendered_objects_get_the_same_annotations_and_nothing_else_is_touched() -> None:
    import pulumi

    from infra.apps.kube import _without_awaiting_child

    child = pulumi.ResourceTransformArgs(True, "kubernetes:apps/v1:Deployment", "jupyterhub:jupyterhub/hub",
                                         copy.deepcopy(DEPLOYMENT), pulumi.ResourceOptions())
    result = _without_awaiting_child(child)
    assert result is not None and result.props["metadata"]["annotations"] == without_awaiting(DEPLOYMENT)[
        "metadata"]["annotations"]
    other = pulumi.ResourceTransformArgs(False, "eaf:apps:JupyterHub", "jupyterhub", {}, pulumi.ResourceOptions())
    assert _without_awaiting_child(other) is None

"""The GPU stack's OKD objects on a real kube-apiserver: the CatalogSources the stack adds and the ClusterPolicy
against their upstream CRDs (OLM's operator-framework/api, NVIDIA's gpu-operator bundle), Triton's slice quota
against the server's own validation.
"""

from __future__ import annotations

import pytest

from tests.apiserver.apps_on_server import create_platform_namespaces, stack_state_removed_afterwards
from tests.apps.manifests import manifests_for
from tests.support.dryrun import check

pytestmark = pytest.mark.real

_GPU_KINDS = {"CatalogSource", "ClusterPolicy", "Subscription", "ResourceQuota"}


def _gpu_objects(manifests: list[dict]) -> list[dict]:
    namespaces = {m["metadata"]["namespace"] for m in manifests
                  if m["kind"] in _GPU_KINDS and "namespace" in m["metadata"]}
    return [m for m in manifests if m["kind"] in _GPU_KINDS
            or m["kind"] == "Namespace" and m["metadata"]["name"] in namespaces]


def _checked(objects: list[dict], client) -> tuple[list, list]:
    with stack_state_removed_afterwards(client, objects):
        create_platform_namespaces(client)
        result = check(objects, client)
    return result.rejections, result.not_checkable


def test_the_catalog_sources_policy_subscriptions_and_quota_are_accepted(kube_api_client, upstream_crds_installed):
    objects = _gpu_objects(manifests_for("prod-a"))
    assert {m["kind"] for m in objects} == _GPU_KINDS | {"Namespace"}
    rejections, unchecked = _checked(objects, kube_api_client)
    assert unchecked == [], [str(u) for u in unchecked]
    assert rejections == [], [str(r) for r in rejections]


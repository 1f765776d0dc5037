"""Every image the apps place is pinned in versions.yaml; no `latest`, no untagged image, anywhere."""

from __future__ import annotations

import json

import pytest

from infra.apps.images import image_problems, pinned_images, why_unpinned
from tests.apps.manifests import chart_values, manifests_for
from tests.harness import DEPLOYED_STACKS


def _images(value, found: list[str]) -> list[str]:
    """Every `image` value, also inside JSON carried in ConfigMaps, and a chart's `image: {name, tag}` values."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                found.append(item)
            elif key == "image" and isinstance(item, dict) and {"name", "tag"} <= item.keys():
                found.append(f"{item['name']}:{item['tag']}")
            else:
                _images(item, found)
    elif isinstance(value, list):
        for item in value:
            _images(item, found)
    elif isinstance(value, str) and value.lstrip().startswith("["):
        try:
            _images(json.loads(value), found)
        except ValueError:
            pass
    return found


def _everything(stack: str) -> list:
    """The stack's own manifests and the values it hands the charts (the hub's and the gateway's images)."""
    return [*manifests_for(stack), chart_values(stack, "jupyterhub"), chart_values(stack, "dask-gateway")]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_image_in_every_manifest_and_chart_is_a_pinned_one(stack):
    images = _images(_everything(stack), [])
    pinned = set(pinned_images().values())
    assert len(images) >= 15, f"{stack}: only {len(images)} images found"
    assert set(images) <= pinned, f"{stack}: not from versions.yaml: {sorted(set(images) - pinned)}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_word_latest_appears_in_no_image(stack):
    assert not [i for i in _images(_everything(stack), []) if ":latest" in i or "@" not in i and ":" not in i]


def test_every_pin_in_versions_yaml_is_a_fixed_build():
    assert image_problems(pinned_images()) == []


@pytest.mark.parametrize("reference, why", [
    ("quay.io/jupyterhub/k8s-hub:latest", "tag 'latest' moves with every push"),
    ("quay.io/jupyterhub/k8s-hub", "no tag and no digest: the registry's `latest` would be pulled"),
    ("k8s-hub:4.1.0", "not an image reference of the form registry/repository:tag or @sha256:digest"),
])
def test_unpinned_references_are_named_with_the_reason(reference, why):
    assert why_unpinned(reference) == why


def test_a_digest_pins_even_a_floating_tag():
    assert why_unpinned("docker.io/grafana/grafana:latest@sha256:" + "a" * 64) is None


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_no_rendered_text_names_a_latest_tag(stack):
    """Also inside config files carried as text (the gateway's cluster image, scripts)."""
    text = json.dumps(_everything(stack))
    assert ":latest" not in text and "image: latest" not in text

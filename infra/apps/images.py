"""Container images and OLM operator pins of the apps layer: all from infra/data/versions.yaml `apps:`."""

from __future__ import annotations

import re

from infra.catalog import OperatorPin, versions
from infra.spec.errors import Problem

# A pinned reference names one build: registry/repo:tag or @sha256:digest, and the tag is not a moving one.
_FLOATING_TAG = re.compile(r"^(latest|stable|main|master|edge|nightly|dev|rolling)$")
_REFERENCE = re.compile(r"^(?P<repo>[a-z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+)"
                        r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}))?"
                        r"(@sha256:(?P<digest>[0-9a-f]{64}))?$")
WHERE = "infra/data/versions.yaml apps.images"


def pinned_images() -> dict[str, str]:
    return versions().apps.images


def operator_pin(name: str) -> OperatorPin:
    return versions().apps.operators[name]


def image(key: str) -> str:
    """The pinned reference of an image key (validated up front by `image_problems`)."""
    return pinned_images()[key]


def why_unpinned(reference: str) -> str | None:
    """Why a reference is not one fixed build, or None when it is."""
    match = _REFERENCE.match(reference)
    if match is None:
        return "not an image reference of the form registry/repository:tag or @sha256:digest"
    tag, digest = match.group("tag"), match.group("digest")
    if tag is None and digest is None:
        return "no tag and no digest: the registry's `latest` would be pulled"
    if tag is not None and _FLOATING_TAG.match(tag) and digest is None:
        return f"tag '{tag}' moves with every push"
    return None


def image_problems(images: dict[str, str]) -> list[Problem]:
    problems = []
    for key, reference in sorted(images.items()):
        why = why_unpinned(str(reference))
        if why is not None:
            problems.append(Problem(f"{WHERE}.{key}", reference, f"unpinned image: {why}",
                                    "pin a released tag (e.g. 4.1.0) or a digest (@sha256:...)"))
    return problems


def image_values(key: str) -> dict[str, str]:
    """A pinned image as a Helm chart's `image: {name, tag}` values (the tag keeps a digest: `tag@sha256:...`)."""
    reference = image(key)
    digest_at = reference.find("@")
    named = reference if digest_at < 0 else reference[:digest_at]
    name, _, tag = named.rpartition(":") if ":" in named.rpartition("/")[2] else (named, "", "")
    return {"name": name, "tag": tag + ("" if digest_at < 0 else reference[digest_at:])}

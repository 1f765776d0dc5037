"""Policy: every container image of every Kubernetes workload is pinned: a digest (`@sha256:...`) or a tag other
than `latest`. An unpinned image makes two `pulumi up`s of the same commit run different software.

Workloads: Pods and everything with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
ReplicationController, and any other kind whose spec has `template.spec.containers`), their containers, init
containers and ephemeral containers. JupyterHub's user images (the hub's profiles) are checked too: they are what
users' pods run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from infra.apps.images import why_unpinned
from policy.profiles import hub_profiles
from policy.records import ResourceRecord, StackInfo, Violation

NAME = "images-pinned"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def image_problem(image: Any) -> str | None:
    """Why `image` is not pinned, or None when it is: the apps layer's own rule (infra/apps/images.py)."""
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    why = why_unpinned(image)
    return None if why is None else why


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def pod_specs(record: ResourceRecord) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, pod spec) of a Kubernetes resource: a Pod's spec, a template's spec, a CronJob's job template's."""
    if not record.type.startswith("kubernetes:"):
        return
    if record.type == "kubernetes:core/v1:Pod":
        spec = _get(record.inputs, "spec")
        if isinstance(spec, Mapping):
            yield "spec", spec
        return
    for where in (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec")):
        spec = _get(record.inputs, *where)
        if isinstance(spec, Mapping):
            yield ".".join(where), spec


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in CONTAINER_LISTS:
        for container in spec.get(field) or ():
            if isinstance(container, Mapping):
                yield field, container


def check(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    violations = []
    for record in resources:
        for where, spec in pod_specs(record):
            for field, container in _containers(spec):
                problem = image_problem(container.get("image"))
                if problem:
                    violations.append(Violation(NAME, record.urn, (
                        f"{record.type} {record.name}: {where}.{field}[{container.get('name', '?')}] image "
                        f"{container.get('image')!r} {problem}; pin it in infra/data/versions.yaml")))
    for record, profile in hub_profiles(resources):
        image = _get(profile, "kubespawner_override", "image")
        problem = image_problem(image)
        if problem:
            violations.append(Violation(NAME, record.urn, (
                f"JupyterHub profile {profile.get('slug', '?')!r} in {record.type} {record.name}: user image "
                f"{image!r} {problem}; pin the flavour's image in infra/data/versions.yaml")))
    return violations

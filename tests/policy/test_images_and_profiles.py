"""images-pinned and jupyterhub-profile-limits: crafted violations on the real registered objects."""

from __future__ import annotations

import pytest

from policy import images, profiles
from policy.images import image_problem
from tests.policy.support import edited, info, records

GRAFANA = ("kubernetes:apps/v1:Deployment", "eaf-monitoring/grafana")
HUB_CHART = ("kubernetes:helm.sh/v4:Chart", "jupyterhub")


@pytest.mark.parametrize("image", [
    "quay.io/jupyterhub/k8s-hub:4.1.0",
    "registry:5000/team/app:v2",
    "quay.io/openshift/origin-cli@sha256:" + "a" * 64,
    "quay.io/x/y:1.0@sha256:" + "0" * 64,
])
def test_tags_and_digests_are_pinned(image: str) -> None:
    assert image_problem(image) is None


@pytest.mark.parametrize(("image", "problem"), [
    ("quay.io/jupyterhub/k8s-hub:latest", "tag 'latest' moves with every push"),
    ("quay.io/jupyterhub/k8s-hub", "no tag and no digest"),
    ("registry:5000/team/app", "no tag and no digest"),
    ("quay.io/x/y@sha256:abc", "not an image reference of the form registry/repository:tag or @sha256:digest"),
    ("busybox", "not an image reference of the form registry/repository:tag or @sha256:digest"),
    ("", "has no image"),
])
def test_unpinned_images_say_why(image: str, problem: str) -> None:
    assert problem in (image_problem(image) or ""), image_problem(image)


def test_a_latest_image_in_a_deployment_is_named(stack_runs) -> None:
    run = stack_runs("dev")

    def use_latest(inputs):
        inputs["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/grafana/grafana:latest"

    violations = images.check(edited(records(run), *GRAFANA, use_latest), info(run))
    assert [v.message for v in violations] == [
        "kubernetes:apps/v1:Deployment eaf-monitoring/grafana: spec.template.spec.containers"
        "[grafana] image 'docker.io/grafana/grafana:latest' tag 'latest' moves with every push; pin it in "
        "infra/data/versions.yaml"
    ]
    assert violations[0].urn.endswith("::eaf-monitoring/grafana")


def test_an_untagged_init_container_is_named(stack_runs) -> None:
    run = stack_runs("prod-a")

    def add_init(inputs):
        inputs["spec"]["template"]["spec"]["initContainers"] = [{"name": "wait", "image": "busybox"}]

    violations = images.check(edited(records(run), *GRAFANA, add_init), info(run))
    assert len(violations) == 1 and "initContainers[wait] image 'busybox' not an image reference" in (
        violations[0].message), [str(v) for v in violations]


def _edit_profiles(change):
    def edit(inputs):
        change(inputs["values"]["singleuser"]["profileList"])

    return edit


def test_an_unpinned_user_image_is_named(stack_runs) -> None:
    run = stack_runs("dev")

    def unpin(entries):
        entries[0]["kubespawner_override"]["image"] = "docker.io/coffeateam/coffea-dask-almalinux8"

    violations = images.check(edited(records(run), *HUB_CHART, _edit_profiles(unpin)), info(run))
    assert len(violations) == 1, [str(v) for v in violations]
    assert violations[0].message.startswith("JupyterHub profile 'cms-coffea-cpu' in kubernetes:helm.sh/v4:Chart "
                                            "jupyterhub: user image"), violations[0].message


def test_a_profile_without_a_cpu_limit_is_named(stack_runs) -> None:
    run = stack_runs("prod-b")

    def drop_cpu_limit(entries):
        del entries[1]["kubespawner_override"]["cpu_limit"]

    violations = profiles.check(edited(records(run), *HUB_CHART, _edit_profiles(drop_cpu_limit)), info(run))
    assert len(violations) == 1, [str(v) for v in violations]
    message = violations[0].message
    assert message.startswith("JupyterHub profile 'cms-coffea-gpu-10gb' in kubernetes:helm.sh/v4:Chart "
                              "jupyterhub: no CPU limit (cpu_limit is None)"), message


def test_a_memory_guarantee_above_the_limit_is_named(stack_runs) -> None:
    run = stack_runs("dev")

    def invert(entries):
        entries[2]["kubespawner_override"]["mem_guarantee"] = "64G"

    violations = profiles.check(edited(records(run), *HUB_CHART, _edit_profiles(invert)), info(run))
    assert len(violations) == 1 and "memory guarantee '64G' is above its limit" in violations[0].message, (
        [str(v) for v in violations])


def test_a_gpu_slice_guaranteed_without_a_limit_is_named(stack_runs) -> None:
    run = stack_runs("dev")

    def no_slice_limit(entries):
        gpu = next(e for e in entries if e["kubespawner_override"].get("extra_resource_guarantees"))
        gpu["kubespawner_override"]["extra_resource_limits"] = {}

    violations = profiles.check(edited(records(run), *HUB_CHART, _edit_profiles(no_slice_limit)), info(run))
    assert len(violations) == 1, [str(v) for v in violations]
    assert "guarantees nvidia.com/mig-" in violations[0].message and "without a limit" in violations[0].message

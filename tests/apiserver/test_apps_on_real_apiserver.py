"""The apps layer's objects, checked by a real kube-apiserver (issue 12), and both guards against three mistakes.

Positive: for dev, prod-a and prod-b every object the apps layer registers itself (tests/apps/manifests.py, from the
mock harness run; what the upstream Helm charts render is applied by the real-engine tier,
tests/engine/test_apps_layer_real.py, since only the plugin renders them) goes to the session's server
(tests/support/apiserver.py): Namespaces for real, everything else dry-run with strict field validation; the GPU
workers' MIG-label patches are server-side-apply dry-runs against Node objects standing for the stack's planned
machines; the pods the hub would spawn from each profile are dry-run too. OKD platform kinds and upstream operators'
custom resources are dry-run against their real upstream CRDs, installed for this module from
scripts/build-crds.sh's build (tests/support/crds.py); a kind without one fails, naming the module the Go proxy
refused, and nothing is left unchecked.

Negative, each twice: the project's own validation stops the mistake first with the field and the fix; and with
that validation bypassed (the real builders fed unvalidated settings, or a built manifest mutated), the server
refuses the result with its own message.

Needs .tools/bin/{etcd,kube-apiserver} (scripts/build-k8s-tools.sh); without them these tests error with that
instruction instead of being skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from infra.apps import objects
from infra.apps.catalog import load_catalog
from infra.apps.checks import manifest_problems
from infra.apps.credentials import PlaceholderCredentials
from infra.apps.deploy import AppsPlan, build_apps
from infra.apps.registry import Apps
from infra.apps.storage import NfsArea
from infra.contracts import AppsInput
from infra.spec.apps import Compute, Range
from infra.spec.errors import ConfigError
from tests.apiserver.apps_on_server import (
    StackCheck,
    check_stack,
    create_namespace,
    create_node,
    create_platform_namespaces,
    delete_node,
    dry_run_apply_patch,
    loaded_stack,
    minor,
    namespaces_removed_afterwards,
    okd_kubernetes_version,
    planned_nodes,
    singleuser_pod,
    stack_state_removed_afterwards,
    stored_state,
    version_skew_note,
)
from tests.apps.manifests import chart_values, manifests_for, named, patches_for
from tests.harness import DEPLOYED_STACKS, run_stack
from tests.support.apiserver import report_line
from tests.support.crds import GroupVersionKind
from tests.support.dryrun import ObjectRef, Rejection, check, installed_crds, served_groups, submit

pytestmark = pytest.mark.real

HUB_NAMESPACE = "jupyterhub"
MLFLOW_NAMESPACE = "mlflow"
# The same bad value in both layers of each negative pair. KubeSpawner hands memory to the server in bytes
# (16 GiB = 17179869184), so that is how the server's message says it.
BAD_NFS_AREA = "Scratch_Area"
BAD_PROFILE_SLUG = "cms-oversized"
OVERSIZED = {"cpu": ({"request": 8, "limit": 4}, "must be less than or equal to cpu limit of 4"),
             "memoryGiB": ({"request": 32, "limit": 16}, "must be less than or equal to memory limit of 17179869184")}


def _only(rejections: list[Rejection]) -> Rejection:
    assert len(rejections) == 1, [str(r) for r in rejections]
    return rejections[0]


# -- session set-up -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def version_skew(request, kube_apiserver) -> str | None:
    """Printed once: the stacks' OKD runs an older Kubernetes than this server."""
    note = version_skew_note({s: okd_kubernetes_version(s) for s in DEPLOYED_STACKS}, kube_apiserver.server_version())
    if note is not None:
        report_line(request.config, "\n" + note)
    return note


@pytest.fixture(scope="module")
def stack_checked(request, kube_api_client, upstream_crds_installed) -> Callable[[str], StackCheck]:
    """stack -> its objects checked by the server (once per stack; the server is left as found)."""
    done: dict[str, StackCheck] = {}
    assert upstream_crds_installed.rejections == (), "\n".join(str(r) for r in upstream_crds_installed.rejections)

    def get(stack: str) -> StackCheck:
        if stack not in done:
            done[stack] = check_stack(stack, kube_api_client, upstream_crds_installed.crds)
            report_line(request.config, "\n" + done[stack].summary())
        return done[stack]

    return get


def test_the_okd_and_server_kubernetes_versions_are_compared_and_the_skew_reported(kube_apiserver, version_skew):
    okd = {s: okd_kubernetes_version(s) for s in DEPLOYED_STACKS}
    server = kube_apiserver.server_version()
    assert version_skew == version_skew_note(okd, server)
    for stack, version in okd.items():
        if minor(version) != minor(server):
            assert version_skew is not None and f"OKD runs Kubernetes {version}" in version_skew, stack
            assert f"this server is {server}" in version_skew


def test_no_skew_is_reported_when_okd_runs_the_servers_kubernetes_minor():
    assert version_skew_note({"dev": "v1.37.0", "prod-a": "v1.37.5"}, "v1.37.2") is None


# -- every stack's objects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_checkable_apps_object_is_accepted_by_the_server(stack, stack_checked):
    result = stack_checked(stack)
    assert result.rejections == [], f"{stack}:\n" + "\n".join(str(r) for r in result.rejections)
    assert result.checked == result.total - len(result.not_checkable)
    # Namespaces, workloads, RBAC, storage, config: the bulk of the layer, not a token few.
    assert result.checked >= 80, f"{stack}: only {result.checked} of {result.total} objects checked"


def _non_builtin_kinds(manifests: list[dict], builtin_groups: set[str]) -> set[GroupVersionKind]:
    own = {(m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests
           if m["kind"] == "CustomResourceDefinition"}
    return {GroupVersionKind(ref.group, ref.api_version.rpartition("/")[2], ref.kind)
            for ref in map(ObjectRef.of, manifests)
            if ref.group not in builtin_groups and (ref.group, ref.kind) not in own}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_okd_or_operator_kind_the_stack_uses_has_an_upstream_crd_source(stack, kube_api_client,
                                                                               upstream_crds_installed):
    """A kind a stack starts to use needs its [[set]] in scripts/go/crds/sources.toml before it can be checked."""
    promised = set(upstream_crds_installed.crds.promised_kinds())
    builtin = served_groups(kube_api_client) - {crd["spec"]["group"] for crd in installed_crds(kube_api_client)}
    used = _non_builtin_kinds(manifests_for(stack), builtin)
    assert used, f"{stack}: uses no OKD or operator kind at all"
    assert sorted(used - promised) == [], f"{stack}: add these kinds to scripts/go/crds/sources.toml"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_no_apps_object_is_left_unchecked(stack, stack_checked, upstream_crds_installed):
    result = stack_checked(stack)
    missing = {(m.kind.group, m.kind.kind): m for m in upstream_crds_installed.crds.missing()}
    lines = [f"{item}" + (f" -- {missing[(item.ref.group, item.ref.kind)].why}"
                          if (item.ref.group, item.ref.kind) in missing else "") for item in result.not_checkable]
    assert result.not_checkable == [], f"{stack}: {len(lines)} object(s) not checked:\n" + "\n".join(lines)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_okd_and_operator_objects_are_checked_against_their_upstream_crds(stack, stack_checked,
                                                                           upstream_crds_installed):
    result = stack_checked(stack)
    upstream_kinds = {(c.group, c.kind) for c in upstream_crds_installed.crds.crds}
    expected = [m for m in manifests_for(stack) if (ObjectRef.of(m).group, m["kind"]) in upstream_kinds]
    # Route, Subscription, OperatorGroup, ServiceMonitor, the KEDA kinds, ClusterPolicy, NodeFeatureDiscovery.
    assert result.upstream_custom_resources == len(expected) >= 9, result.summary()
    assert result.rejections == [], f"{stack}:\n" + "\n".join(str(r) for r in result.rejections)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_project_creates_no_crd_of_its_own(stack, stack_checked):
    """The kinds the apps use come from OKD, their operators or the upstream charts (the dask-gateway chart's CRDs
    are applied by tests/engine/test_apps_layer_real.py, where the chart is rendered)."""
    result = stack_checked(stack)
    assert result.crds == 0 and result.own_custom_resources == 0, result.summary()
    assert result.rejections == []


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_mig_label_patches_apply_to_the_planned_gpu_nodes(stack, stack_checked):
    result = stack_checked(stack)
    assert result.patches >= 1, f"{stack}: no NodePatch (every deployed stack has GPU workers)"
    assert result.patch_rejections == [], f"{stack}:\n" + "\n".join(str(r) for r in result.patch_rejections)


@pytest.fixture
def gpu_node(kube_api_client):
    """A Node named like dev's first GPU worker, deleted afterwards."""
    node = next(n for n in planned_nodes("dev") if n["metadata"]["name"] == patches_for("dev")[0]["metadata"]["name"])
    create_node(kube_api_client, node)
    try:
        yield node
    finally:
        delete_node(kube_api_client, node["metadata"]["name"])


def test_a_mig_label_patch_with_a_label_value_the_server_refuses_is_rejected(kube_api_client, gpu_node):
    patch = copy.deepcopy(patches_for("dev")[0])
    patch["metadata"]["labels"]["nvidia.com/mig.config"] = "eaf mixed"
    rejection = dry_run_apply_patch(kube_api_client, patch)
    assert rejection is not None and rejection.status == 422, rejection
    assert "metadata.labels: Invalid value: \"eaf mixed\"" in rejection.message, rejection.message


def test_a_mig_label_patch_for_a_node_that_is_not_there_is_rejected(kube_api_client):
    patch = copy.deepcopy(patches_for("dev")[0])
    patch["metadata"]["name"] = "gpu-99"
    rejection = dry_run_apply_patch(kube_api_client, patch)
    assert rejection is not None and (rejection.status, rejection.reason) == (404, "NotFound"), rejection
    assert "no Node gpu-99 to patch" in rejection.message


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_a_stack_check_leaves_none_of_its_namespaces_or_crds_behind(stack, stack_checked, kube_api_client):
    stack_checked(stack)
    left = stored_state(kube_api_client, manifests_for(stack))
    assert left == [], f"{stack}: left on the session's server: {left}"


def test_objects_in_a_namespace_the_stack_does_not_create_are_refused(kube_api_client):
    """The clean slate matters: without its Namespace object, a namespace's objects are refused, not waved through
    by a namespace an earlier stack left behind."""
    manifests = manifests_for("dev")
    dropped = named(manifests, "Namespace", HUB_NAMESPACE)
    # The project's CRDs and their resources play no part here; leaving them out saves creating the CRDs.
    crd_kinds = {(m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests
                 if m["kind"] == "CustomResourceDefinition"}
    rest = [m for m in manifests if m is not dropped and m["kind"] != "CustomResourceDefinition"
            and (ObjectRef.of(m).group, m["kind"]) not in crd_kinds]
    with stack_state_removed_afterwards(kube_api_client, manifests):
        create_platform_namespaces(kube_api_client)
        result = check(rest, kube_api_client)
    in_hub = [ObjectRef.of(m) for m in rest if m["metadata"].get("namespace") == HUB_NAMESPACE]
    unchecked = {n.ref for n in result.not_checkable}
    expected = sorted(str(ref) for ref in in_hub if ref not in unchecked)
    assert expected, "dev has no checkable object in the hub's namespace"
    assert sorted(str(r.ref) for r in result.rejections) == expected
    assert {(r.status, r.reason) for r in result.rejections} == {(404, "NotFound")}
    assert all(f'namespaces "{HUB_NAMESPACE}" not found' in r.message for r in result.rejections)


def _profile_entries(values: dict) -> list[dict]:
    """The hub's server options: the profile list the stack hands the jupyterhub chart."""
    return values["singleuser"]["profileList"]


def _spawned_pods(entries: list[dict]) -> list[dict]:
    labels = objects.labels("jupyterhub", "singleuser-server")
    return [singleuser_pod(entry, HUB_NAMESPACE, labels) for entry in entries]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_profile_pod_the_hub_would_spawn_is_accepted_by_the_server(stack, kube_api_client):
    pods = _spawned_pods(_profile_entries(chart_values(stack, "jupyterhub")))
    assert pods, f"{stack}: the hub offers no profile"
    with namespaces_removed_afterwards(kube_api_client, [HUB_NAMESPACE]):
        create_namespace(kube_api_client, HUB_NAMESPACE)
        rejections = submit(pods, kube_api_client)
    assert rejections == [], f"{stack}:\n" + "\n".join(str(r) for r in rejections)


# -- (a) a profile whose request is above its limit ------------------------------------------------------------------


def _oversized_compute(resource: str) -> Compute:
    """A valid profile's compute with one resource's request above its limit, built without validation."""
    bad, _ = OVERSIZED[resource]
    base = _catalog("dev").profiles[0].compute
    field = "memory_gib" if resource == "memoryGiB" else "cpu"
    return base.model_copy(update={field: Range.model_construct(**bad)})


def _catalog(stack: str):
    catalog, problems = load_catalog(loaded_stack(stack).spec.apps.jupyterhub.catalog)
    assert catalog is not None, problems
    return catalog


def _apps_with_extra_profile(compute: Compute) -> Apps:
    """dev's apps settings plus one profile, copied without validation (what config validation would stop)."""
    apps = loaded_stack("dev").spec.apps
    base = _catalog("dev").profiles[0]
    profile = base.model_copy(update={"slug": BAD_PROFILE_SLUG, "compute": compute, "default": False})
    return apps.model_copy(update={"jupyterhub": apps.jupyterhub.model_copy(update={"extra_profiles": (profile,)})})


def _plan(apps: Apps) -> AppsPlan:
    """What the real builders make of `apps` for dev's plan (secrets as placeholders)."""
    return build_apps(AppsInput("dev", apps, loaded_stack("dev").plan), PlaceholderCredentials())


def _built(apps: Apps) -> list[dict]:
    return _plan(apps).manifests


def _hub_values(apps: Apps) -> dict:
    (values,) = [c.values for _, build in _plan(apps).builds for c in build.charts if c.release == "jupyterhub"]
    return values


@pytest.mark.parametrize("resource", sorted(OVERSIZED))
def test_a_profile_requesting_more_than_its_limit_is_stopped_by_config_validation(resource):
    bad, _ = OVERSIZED[resource]
    base = _catalog("dev").profiles[0].model_dump(by_alias=True, exclude_none=True)
    profile = {**base, "slug": BAD_PROFILE_SLUG, "default": False,
               "compute": {**base["compute"], resource: bad}}
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"jupyterhub": {"extraProfiles": [profile]}}})
    message = str(caught.value)
    assert f"eaf:apps.jupyterhub.extraProfiles[0].compute.{resource}" in message
    assert f"request {bad['request']} is above limit {bad['limit']}" in message
    assert "set request <= limit" in message and "nothing was created or changed" in message


@pytest.mark.parametrize("resource", sorted(OVERSIZED))
def test_a_profile_requesting_more_than_its_limit_is_refused_by_the_server_at_spawn(resource, kube_api_client):
    _, server_says = OVERSIZED[resource]
    entries = _profile_entries(_hub_values(_apps_with_extra_profile(_oversized_compute(resource))))
    (entry,) = [e for e in entries if e["slug"] == BAD_PROFILE_SLUG]
    with namespaces_removed_afterwards(kube_api_client, [HUB_NAMESPACE]):
        create_namespace(kube_api_client, HUB_NAMESPACE)
        rejection = _only(submit(_spawned_pods([entry]), kube_api_client))
    assert (rejection.kind, rejection.status, rejection.reason) == ("Pod", 422, "Invalid")
    assert server_says in rejection.message, rejection.message


# -- (b) a Deployment whose selector misses its pod labels -----------------------------------------------------------
# No setting reaches a selector: objects.selector(app, component) and objects.labels(app, component) are both made
# from the builders' constants. The guard is the pre-registration check (infra/apps/checks.py), which load_spec runs
# over the built manifests through infra/apps/validate.py.


def _mlflow_with_stray_selector() -> tuple[list[dict], dict]:
    manifests = copy.deepcopy(manifests_for("dev"))
    mlflow = named(manifests, "Deployment", "mlflow", MLFLOW_NAMESPACE)
    mlflow["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "mlflow-typo"
    return manifests, mlflow


def test_a_selector_missing_its_pod_labels_is_named_by_the_pre_registration_check():
    manifests, _ = _mlflow_with_stray_selector()
    (problem,) = manifest_problems(manifests)
    assert problem.path == "Deployment mlflow/mlflow spec.selector"
    assert "selects no pod of its own template" in problem.why
    assert "infra/apps/objects.selector" in problem.fix


def test_a_selector_missing_its_pod_labels_is_refused_by_the_server(kube_api_client):
    _, mlflow = _mlflow_with_stray_selector()
    with namespaces_removed_afterwards(kube_api_client, [MLFLOW_NAMESPACE]):
        create_namespace(kube_api_client, MLFLOW_NAMESPACE)
        rejection = _only(submit([mlflow], kube_api_client))
    assert (rejection.kind, rejection.name, rejection.status) == ("Deployment", "mlflow", 422)
    assert "`selector` does not match template `labels`" in rejection.message, rejection.message


# -- (c) a name that is not RFC 1123 -----------------------------------------------------------------------------------
# An NFS area's name is a setting that becomes object names: PersistentVolume nfs-<area>-<namespace> and
# PersistentVolumeClaim nfs-<area> in each consumer namespace (infra/apps/storage.py).


def _nfs_with_bad_area() -> list[dict]:
    return [*(area.model_dump(by_alias=True) for area in loaded_stack("dev").spec.apps.storage.nfs),
            {"name": BAD_NFS_AREA, "server": "nfs.fnal.gov", "path": "/scratch", "mountPath": "/scratch"}]


def _built_with_bad_nfs_area() -> list[dict]:
    apps = loaded_stack("dev").spec.apps
    area = NfsArea.model_construct(name=BAD_NFS_AREA, server="nfs.fnal.gov", path="/scratch", mount_path="/scratch")
    storage = apps.storage.model_copy(update={"nfs": (*apps.storage.nfs, area)})
    return _built(apps.model_copy(update={"storage": storage}))


def _named_after_bad_area(manifests: list[dict]) -> list[dict]:
    return [m for m in manifests if BAD_NFS_AREA in m["metadata"]["name"]]


def test_an_nfs_area_name_that_is_not_rfc1123_is_stopped_by_config_validation():
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"storage": {"nfs": _nfs_with_bad_area()}}})
    message = str(caught.value)
    index = len(_nfs_with_bad_area()) - 1
    assert f"eaf:apps.storage.nfs[{index}].name = '{BAD_NFS_AREA}'" in message, message
    assert "not a valid RFC 1123 DNS label" in message and "nothing was created or changed" in message


def test_an_nfs_area_name_that_is_not_rfc1123_is_named_by_the_pre_registration_check():
    problems = manifest_problems(_built_with_bad_nfs_area())
    assert sorted(p.path for p in problems) == sorted(
        f"{m['kind']} {m['metadata']['namespace'] + '/' if m['metadata'].get('namespace') else ''}"
        f"{m['metadata']['name']}" for m in _named_after_bad_area(_built_with_bad_nfs_area()))
    assert problems and all("RFC 1123" in p.why for p in problems)


def test_an_nfs_area_name_that_is_not_rfc1123_is_refused_by_the_server(kube_api_client):
    bad = _named_after_bad_area(_built_with_bad_nfs_area())
    # The area is mounted where notebooks and Dask workers run: one PV/PVC pair per namespace.
    namespaces = sorted({m["metadata"]["namespace"] for m in bad if m["kind"] == "PersistentVolumeClaim"})
    assert sorted(m["kind"] for m in bad) == sorted(["PersistentVolume", "PersistentVolumeClaim"] * len(namespaces))
    assert HUB_NAMESPACE in namespaces
    with namespaces_removed_afterwards(kube_api_client, namespaces):
        for namespace in namespaces:
            create_namespace(kube_api_client, namespace)
        rejections = submit(bad, kube_api_client)
    assert sorted((r.kind, r.status) for r in rejections) == sorted(
        [("PersistentVolume", 422), ("PersistentVolumeClaim", 422)] * len(namespaces))
    for rejection in rejections:
        assert "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters" in \
            rejection.message, rejection.message

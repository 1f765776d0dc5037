"""The apps layer's objects on a real kube-apiserver: one stack at a time, from a clean slate.

Every object `manifests_for(stack)` lists goes to the server: Namespaces are created for real, everything else is
dry-run with strict field validation (tests/support/dryrun.py). OKD platform kinds and upstream operators' custom
resources are judged by their real upstream CRDs (tests/support/crds.py, built by scripts/build-crds.sh), installed
beforehand as OKD and OLM would have; whatever still has no CRD is set aside and counted, never faked.

Why one stack at a time: the stacks use the same namespace names, and only namespaces are stored. A namespace left
over from an earlier stack would hide a stack that forgets to create its own, so each stack starts on a server
without any of its namespaces and deletes them (finalizing, as no namespace controller runs here) when done.

The raw-request helpers of tests/support/dryrun.py (they keep the server's Status message intact) are reused here,
not repeated.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from kubernetes.client import ApiClient

from infra.apps.checks import PLATFORM_NAMESPACES
from infra.paths import PROJECT_DIR
from infra.plan.model import Role
from infra.spec.layering import read_stack_file
from infra.spec.load import LoadedStack, load_spec
from tests.apps.manifests import manifests_for, patches_for
from tests.harness import TEST_SECRETS
from tests.support.crds import UpstreamCrds, delete_crds
from tests.support.dryrun import (
    CRD_API_PATH,
    STATUS_NOT_SENT,
    NotCheckable,
    ObjectRef,
    Rejection,
    _rejection,
    _request,
    _Response,
    check,
)

# Planned machines that register as Kubernetes Nodes (the load balancer and bootstrap VM never do).
NODE_ROLES = (Role.CONTROLLER, Role.WORKER, Role.GPU_WORKER)
# pulumi-kubernetes applies `*Patch` resources with server-side apply, each under a field manager of its own.
PATCH_FIELD_MANAGER = "pulumi-kubernetes"
_GONE_TIMEOUT = 30.0


@cache
def loaded_stack(stack: str) -> LoadedStack:
    """The validated spec and plan of a stack with the harness' test secrets (no Pulumi run needed)."""
    return load_spec(stack, {**read_stack_file(PROJECT_DIR, stack), **TEST_SECRETS}, PROJECT_DIR)


def okd_kubernetes_version(stack: str) -> str:
    """The Kubernetes version of the OKD release the stack installs (versions.yaml okd.releases.<r>.kubernetes)."""
    return loaded_stack(stack).release.kubernetes


def minor(version: str) -> str:
    """v1.28.6 -> 1.28"""
    return ".".join(version.lstrip("v").split(".")[:2])


def version_skew_note(okd_versions: dict[str, str], server_version: str) -> str | None:
    """A one-line warning when the stacks' OKD runs another Kubernetes minor than this server; None when equal."""
    differing = {stack: v for stack, v in sorted(okd_versions.items()) if minor(v) != minor(server_version)}
    if not differing:
        return None
    by_version: dict[str, list[str]] = {}
    for stack, version in differing.items():
        by_version.setdefault(version, []).append(stack)
    okd = "; ".join(f"{', '.join(stacks)}: OKD runs Kubernetes {v}" for v, stacks in sorted(by_version.items()))
    return (f"[apps on kube-apiserver] version skew: this server is {server_version}, but {okd}. Accepted here is "
            f"not proof of acceptance there (fields added after {minor(next(iter(differing.values())))} pass here); "
            "the schema tests (tests/apps/test_schemas.py) check against the OKD release's own minor.")


# -- server state -------------------------------------------------------------------------------------------------


def _ok(status: int) -> bool:
    return 200 <= status < 300


def namespace_exists(client: ApiClient, name: str) -> bool:
    return _request(client, "GET", f"/api/v1/namespaces/{name}").status == 200


def delete_namespace(client: ApiClient, name: str) -> None:
    """Delete and finalize: without kube-controller-manager a namespace would stay Terminating for ever."""
    response = _request(client, "DELETE", f"/api/v1/namespaces/{name}")
    if response.status == 404:
        return
    if not _ok(response.status):
        raise RuntimeError(f"DELETE namespace {name}: HTTP {response.status}: {response.text[:300]}")
    deadline = time.monotonic() + _GONE_TIMEOUT
    while time.monotonic() < deadline:
        current = _request(client, "GET", f"/api/v1/namespaces/{name}")
        if current.status == 404:
            return
        if current.body is not None:
            # Nothing is stored in it (everything else was dry-run), so dropping the finalizer loses nothing.
            current.body.setdefault("spec", {})["finalizers"] = []
            _request(client, "PUT", f"/api/v1/namespaces/{name}/finalize", body=current.body)
        time.sleep(0.1)
    raise RuntimeError(f"namespace {name} still exists {_GONE_TIMEOUT:.0f}s after its deletion")


@contextmanager
def namespaces_removed_afterwards(client: ApiClient, names: Iterable[str]) -> Iterator[None]:
    """Whatever of `names` exists when the block ends is deleted, so the next stack starts clean."""
    try:
        yield
    finally:
        for name in sorted(set(names)):
            delete_namespace(client, name)


def crd_exists(client: ApiClient, name: str) -> bool:
    return _request(client, "GET", f"{CRD_API_PATH}/{name}").status == 200


def create_namespace(client: ApiClient, name: str) -> None:
    response = _request(client, "POST", "/api/v1/namespaces",
                        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    if not _ok(response.status):
        raise RuntimeError(f"creating namespace {name}: HTTP {response.status}: {response.text[:300]}")


def create_platform_namespaces(client: ApiClient) -> None:
    """The namespaces OKD creates itself, into which the apps layer only puts objects (infra/apps/checks.py)."""
    for name in sorted(PLATFORM_NAMESPACES):
        create_namespace(client, name)


def planned_nodes(stack: str) -> list[dict[str, Any]]:
    """The Node objects the stack's kubelets would register: one per planned cluster machine, under its hostname
    (ignition writes the short hostname to /etc/hostname, and the kubelet registers under it)."""
    return [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": node.hostname}}
            for node in loaded_stack(stack).plan.by_role(*NODE_ROLES)]


def create_node(client: ApiClient, node: dict[str, Any]) -> None:
    response = _request(client, "POST", "/api/v1/nodes", body=node)
    if not _ok(response.status):
        raise RuntimeError(f"creating Node {node['metadata']['name']}: HTTP {response.status}: "
                           f"{response.text[:300]}")


def delete_node(client: ApiClient, name: str) -> None:
    response = _request(client, "DELETE", f"/api/v1/nodes/{name}")
    if not (_ok(response.status) or response.status == 404):
        raise RuntimeError(f"DELETE node {name}: HTTP {response.status}: {response.text[:300]}")


def dry_run_apply_patch(client: ApiClient, patch: dict[str, Any]) -> Rejection | None:
    """Server-side apply of a `NodePatch` to its Node, dry-run and strict, as pulumi-kubernetes sends it."""
    ref = ObjectRef.of(patch)
    if patch.get("kind") != "Node":
        return Rejection(ref, STATUS_NOT_SENT, "Unsupported", "only Node patches are handled here")
    # pulumi-kubernetes' Patch resources modify existing objects only, while a bare server-side apply is an upsert
    # (a dry-run apply to a missing Node answers 201 Created): so existence is checked first.
    current = _request(client, "GET", f"/api/v1/nodes/{ref.name}")
    if current.status == 404:
        return Rejection(ref, 404, "NotFound", f"no Node {ref.name} to patch (the stack's planned nodes register "
                         "under their hostnames)")
    request = client.param_serialize(
        "PATCH",
        f"/api/v1/nodes/{ref.name}",
        query_params=[("dryRun", "All"), ("fieldValidation", "Strict"), ("fieldManager", PATCH_FIELD_MANAGER)],
        header_params={"Accept": "application/json", "Content-Type": "application/apply-patch+yaml"},
        body=patch,
        auth_settings=["BearerToken"],
    )
    raw = client.call_api(*request, _request_timeout=30.0)
    raw.read()
    text = (raw.data or b"").decode(errors="replace")
    if _ok(raw.status):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return _rejection(ref, _Response(status=raw.status, body=body if isinstance(body, dict) else None, text=text))


# -- one stack ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackCheck:
    stack: str
    total: int
    checked: int
    rejections: list[Rejection]
    not_checkable: list[NotCheckable]
    crds: int  # the project's own CustomResourceDefinitions, created for real
    own_custom_resources: int  # custom resources of those CRDs, dry-run against their schemas
    upstream_custom_resources: int  # objects of OKD / operator kinds, dry-run against their upstream CRDs
    patches: int
    patch_rejections: list[Rejection]
    dry_run_seconds: float

    def not_checkable_by_kind(self) -> dict[str, int]:
        counts = Counter(f"{n.ref.kind}.{n.ref.group}" for n in self.not_checkable)
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.not_checkable_by_kind().items())
        return (f"[apps on kube-apiserver] {self.stack}: {self.total} objects, {self.checked} checked by the server "
                f"({len(self.rejections)} rejected) in {self.dry_run_seconds:.2f}s, among them {self.crds} CRDs of "
                f"the project's own created for real and {self.own_custom_resources} custom resource(s) of them, "
                f"{self.upstream_custom_resources} object(s) of OKD/operator kinds against their upstream CRDs; "
                f"{self.patches} Node patch(es) "
                f"dry-run applied ({len(self.patch_rejections)} rejected); not checkable here: "
                f"{len(self.not_checkable)} ({kinds})")


def stack_namespaces(manifests: list[dict[str, Any]]) -> set[str]:
    """Namespaces the stack creates or uses (including those OKD provides)."""
    created = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    used = {m["metadata"]["namespace"] for m in manifests if m["metadata"].get("namespace")}
    return created | used


def stack_crds(manifests: list[dict[str, Any]]) -> set[str]:
    """The CustomResourceDefinitions the project itself defines for the stack (created for real by the check)."""
    return {m["metadata"]["name"] for m in manifests if m["kind"] == "CustomResourceDefinition"}


def stored_state(client: ApiClient, manifests: list[dict[str, Any]]) -> list[str]:
    """What of the stack's real (not dry-run) objects the server holds: its namespaces and CRDs."""
    namespaces = stack_namespaces(manifests) | PLATFORM_NAMESPACES
    return ([f"Namespace {n}" for n in sorted(namespaces) if namespace_exists(client, n)]
            + [f"CustomResourceDefinition {c}" for c in sorted(stack_crds(manifests)) if crd_exists(client, c)])


@contextmanager
def stack_state_removed_afterwards(client: ApiClient, manifests: list[dict[str, Any]]) -> Iterator[None]:
    """The stack's namespaces and CRDs (the only objects stored for real) are deleted when the block ends."""
    try:
        with namespaces_removed_afterwards(client, stack_namespaces(manifests) | PLATFORM_NAMESPACES):
            yield
    finally:
        delete_crds(client, sorted(stack_crds(manifests)))


def check_stack(stack: str, client: ApiClient, upstream: UpstreamCrds) -> StackCheck:
    """All of the stack's apps objects and patches against the server, leaving the server as it found it.

    `upstream` are the upstream CRDs already installed on the server (tests/support/crds.py)."""
    manifests = manifests_for(stack)
    patches = patches_for(stack)
    leftovers = stored_state(client, manifests)
    if leftovers:
        raise RuntimeError(f"{stack}: {leftovers} exist before the check; an earlier check did not clean up, and "
                           "they would hide a namespace or CRD this stack forgets to create")
    nodes = planned_nodes(stack)
    with stack_state_removed_afterwards(client, manifests):
        create_platform_namespaces(client)
        for node in nodes:
            create_node(client, node)
        try:
            began = time.monotonic()
            result = check(manifests, client)
            patch_rejections = [r for r in (dry_run_apply_patch(client, p) for p in patches) if r is not None]
            seconds = time.monotonic() - began
        finally:
            for node in nodes:
                delete_node(client, node["metadata"]["name"])
    crds = stack_crds(manifests)
    crd_kinds = {(m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests
                 if m["kind"] == "CustomResourceDefinition"}
    unchecked = {n.ref for n in result.not_checkable}
    own_custom = [m for m in manifests if (ObjectRef.of(m).group, m["kind"]) in crd_kinds
                  and ObjectRef.of(m) not in unchecked]
    upstream_kinds = {(c.group, c.kind) for c in upstream.crds}
    upstream_custom = [m for m in manifests if (ObjectRef.of(m).group, m["kind"]) in upstream_kinds
                       and ObjectRef.of(m) not in unchecked]
    return StackCheck(stack=stack, total=len(manifests), checked=len(manifests) - len(result.not_checkable),
                      rejections=result.rejections, not_checkable=result.not_checkable, crds=len(crds),
                      own_custom_resources=len(own_custom), upstream_custom_resources=len(upstream_custom),
                      patches=len(patches),
                      patch_rejections=patch_rejections, dry_run_seconds=seconds)


# -- the pods KubeSpawner would create from the hub's profiles ---------------------------------------------------

# KubeSpawner's ByteSpecification: binary multiples (its "M" is MiB).
_BYTE_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _bytes(spec: str | int | float) -> str:
    text = str(spec)
    if text[-1:] in _BYTE_UNITS:
        return str(int(float(text[:-1]) * _BYTE_UNITS[text[-1]]))
    return str(int(float(text)))


def _cpu(value: float) -> str:
    # KubeSpawner passes the float through; the API server reads "4.0" as 4 cores.
    return str(value)


def singleuser_pod(entry: dict[str, Any], namespace: str, labels: dict[str, str], user: str = "alice"
                   ) -> dict[str, Any]:
    """The pod KubeSpawner creates for `user` choosing profile `entry` (a profiles.json item of the hub ConfigMap).

    Not KubeSpawner itself (not a dependency of this project): its documented mapping of the override's traits to
    the pod spec, for the fields the profile sets (image, cpu/mem guarantee -> requests, limits, extra resources,
    volumes, mounts), with `{username}` expanded as KubeSpawner does.
    """
    override = entry["kubespawner_override"]
    requests = {"cpu": _cpu(override["cpu_guarantee"]), "memory": _bytes(override["mem_guarantee"]),
                **override.get("extra_resource_guarantees", {})}
    limits = {"cpu": _cpu(override["cpu_limit"]), "memory": _bytes(override["mem_limit"]),
              **override.get("extra_resource_limits", {})}

    def expand(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{username}", user)
        if isinstance(value, dict):
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"jupyter-{user}--{entry['slug']}", "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "OnFailure",
            "containers": [{
                "name": "notebook",
                "image": override["image"],
                "args": ["jupyterhub-singleuser"],
                "ports": [{"name": "notebook-port", "containerPort": 8888}],
                "resources": {"requests": requests, "limits": limits},
                "volumeMounts": expand(override["volume_mounts"]),
            }],
            "volumes": expand(override["volumes"]),
        },
    }

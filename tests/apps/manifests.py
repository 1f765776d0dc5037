"""Every Kubernetes object the apps layer registered for a stack, as plain manifests, from the mock harness run.

The API-server tier (issue 12) submits `manifests_for(stack)`; the schema and content tests here read the same list,
so what is checked is exactly what `pulumi up` would send. Patches of existing objects (the GPU workers' MIG labels,
`NodePatch`) are not objects the apps layer creates; they are in `patches_for(stack)`.
"""

from __future__ import annotations

from typing import Any

from tests.harness import Registered, StackRun, unmodified_run

# Kinds that only exist on OKD (platform APIs) or once an operator's CSV has installed its CRDs: not checkable
# by a vanilla API server, nor by kubernetes-validate's built-in schemas.
OKD_OR_OPERATOR_GROUPS = ("route.openshift.io", "operators.coreos.com", "monitoring.coreos.com", "nvidia.com",
                          "nfd.openshift.io", "keda.sh", "machineconfiguration.openshift.io",
                          "cert-manager.io", "security.openshift.io")
# Namespaces the apps layer puts objects into but OKD itself creates (the API tier creates them for real first).
PLATFORM_NAMESPACES = ("openshift-monitoring", "openshift-user-workload-monitoring")


def _is_kubernetes_object(resource: Registered) -> bool:
    return resource.type.startswith("kubernetes:") and resource.custom


def _is_patch(resource: Registered) -> bool:
    return resource.type.endswith("Patch")


def json_numbers(value: Any) -> Any:
    """Pulumi's gRPC carries every number as a double (replicas: 1.0); the provider sends integers to the API server,
    so the manifests do the same. No field of the objects here is a fractional number (quantities are strings)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return value


def _manifest(resource: Registered) -> dict[str, Any]:
    inputs = json_numbers(dict(resource.inputs))
    manifest = {"apiVersion": inputs.pop("apiVersion"), "kind": inputs.pop("kind")}
    manifest.update(sorted(inputs.items()))
    return manifest


def run_for(stack: str) -> StackRun:
    return unmodified_run(stack)


def apps_resources(run: StackRun) -> list[Registered]:
    """The Kubernetes resources whose parent is one of the apps' components."""
    components = {r.urn for r in run.resources if r.type.startswith("eaf:apps:")}
    return [r for r in run.resources if _is_kubernetes_object(r) and r.parent in components]


def _order(manifest: dict[str, Any]) -> tuple[bool, str, str, str]:
    """Namespaces first, then by namespace, kind, name (registration order varies with async output resolution)."""
    metadata = manifest["metadata"]
    return manifest["kind"] != "Namespace", metadata.get("namespace") or "", manifest["kind"], metadata["name"]


def manifests_of(run: StackRun) -> list[dict[str, Any]]:
    return sorted((_manifest(r) for r in apps_resources(run) if not _is_patch(r)), key=_order)


def manifests_for(stack: str) -> list[dict[str, Any]]:
    """apiVersion/kind/metadata/spec (and data, rules, ...) of every object the apps layer creates for `stack`."""
    return manifests_of(run_for(stack))


def patches_for(stack: str) -> list[dict[str, Any]]:
    return sorted((_manifest(r) for r in apps_resources(run_for(stack)) if _is_patch(r)), key=_order)


def group_of(manifest: dict[str, Any]) -> str:
    api_version = manifest["apiVersion"]
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def own_definitions(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) -> the CustomResourceDefinition the apps layer itself defines for it."""
    return {(m["spec"]["group"], m["spec"]["names"]["kind"]): m for m in manifests
            if m["kind"] == "CustomResourceDefinition"}


def is_builtin(manifest: dict[str, Any]) -> bool:
    """A kind of Kubernetes itself (not OKD's, an operator's, or one of the project's own CRDs)."""
    group = group_of(manifest)
    return group in BUILTIN_PLAIN_GROUPS or group.endswith(".k8s.io")


# Kubernetes' own API groups without the .k8s.io suffix ("" is the core group).
BUILTIN_PLAIN_GROUPS = ("", "apps", "batch", "policy", "autoscaling")


def named(manifests: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name
             and m["metadata"].get("namespace") == namespace]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


CHART_TYPE = "kubernetes:helm.sh/v4:Chart"


def charts_of(run: StackRun) -> dict[str, Registered]:
    """release name -> the Chart component an app registered (under mocks the chart itself is not rendered)."""
    components = {r.urn for r in run.resources if r.type.startswith("eaf:apps:")}
    return {r.name: r for r in run.resources if r.type == CHART_TYPE and r.parent in components}


def chart_values(stack: str, release: str) -> dict[str, Any]:
    """The values the stack hands a chart (plain: the harness resolves secrets), numbers as the provider sends them."""
    return json_numbers(charts_of(run_for(stack))[release].inputs["values"])

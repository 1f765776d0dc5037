"""Register plain Kubernetes manifests (dicts) as typed pulumi-kubernetes resources.

Every app builds its objects as plain manifests (apiVersion/kind/metadata/...), so the same dicts are what tests
read back from the mock harness and what the API-server tier submits. Registering them as the typed resource of
their kind (Deployment, Service, ...) rather than a Helm release makes `pulumi preview` show each object's diff.
Kinds outside the built-in API groups (OLM, OKD routes, operator custom resources) become `CustomResource`s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

# API group -> pulumi_kubernetes module holding its typed resources ("" is the core group).
_TYPED_GROUPS = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "rbac.authorization.k8s.io": "rbac",
    "storage.k8s.io": "storage",
    "apiextensions.k8s.io": "apiextensions",
    "networking.k8s.io": "networking",
    "policy": "policy",
}
_ENVELOPE = ("apiVersion", "kind")


@dataclass(frozen=True)
class Kube:
    """How every object of the apps layer reaches the cluster: one provider, after the install is complete."""

    provider: pulumi.ProviderResource
    ready: tuple[pulumi.Resource, ...] = ()

    def options(self, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider, parent=parent,
                                      depends_on=[*self.ready, *depends_on])


def resource_name(manifest: dict[str, Any]) -> str:
    """Stable Pulumi name: `<namespace>/<name>` for namespaced objects, the object's name otherwise."""
    metadata = manifest["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else metadata["name"]


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _typed_class(api_version: str, kind: str, patch: bool) -> type | None:
    import pulumi_kubernetes as k8s

    group, _, version = api_version.rpartition("/")
    module_name = _TYPED_GROUPS.get(group)
    if module_name is None:
        return None
    module = getattr(getattr(k8s, module_name), version)
    return getattr(module, kind + ("Patch" if patch else ""))


def register(manifest: dict[str, Any], kube: Kube, parent: pulumi.Resource,
             depends_on: Sequence[pulumi.Resource] = (), patch: bool = False) -> pulumi.CustomResource:
    """Create (or, with `patch`, server-side-apply a patch to) the object the manifest describes."""
    fields = {_snake(k): v for k, v in manifest.items() if k not in _ENVELOPE}
    options = kube.options(parent, depends_on)
    name = resource_name(manifest)
    typed = _typed_class(manifest["apiVersion"], manifest["kind"], patch)
    if typed is not None:
        return typed(name, **fields, opts=options)
    from pulumi_kubernetes.apiextensions import CustomResource

    return CustomResource(name, api_version=manifest["apiVersion"], kind=manifest["kind"], **fields, opts=options)


def register_all(manifests: Sequence[dict[str, Any]], kube: Kube, parent: pulumi.Resource,
                 depends_on: Sequence[pulumi.Resource] = ()) -> list[pulumi.CustomResource]:
    return [register(m, kube, parent, depends_on) for m in manifests]


def register_in_namespace(manifests: Sequence[dict[str, Any]], kube: Kube, parent: pulumi.Resource
                          ) -> tuple[pulumi.CustomResource, list[pulumi.CustomResource]]:
    """An app's objects whose first manifest is its Namespace: that first, everything else after it (the API server
    refuses objects in a namespace that does not exist yet). Returns the namespace and all objects."""
    first, *rest = manifests
    namespace = register(first, kube, parent)
    return namespace, [namespace, *register_all(rest, kube, parent, [namespace])]

"""Register plain Kubernetes manifests (dicts) as pulumi-kubernetes resources of their kind.

Every app builds its objects as plain manifests (apiVersion/kind/metadata/...), so the same dicts are what tests read
back from the mock harness and what the API-server tiers submit. Each is registered under the provider's type token
for its kind (`kubernetes:apps/v1:Deployment`, `kubernetes:route.openshift.io/v1:Route`), exactly as the SDK's typed
classes register it, so `pulumi preview` shows each object's own diff; registering through the token directly
skips importing the SDK's typed modules, which costs seconds per evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.apps.charts import ChartRelease, ChartSource, chart_reference

# Secrets keep their data secret in the state and in every output, as the SDK's typed Secret class declares.
_SECRET_OUTPUTS = {"kubernetes:core/v1:Secret": ["data", "stringData"]}
# The provider's per-object settings for a server where nothing becomes ready (Kube.await_objects False): create
# and update return once the server stored the object; delete in the background, as foreground deletion waits for
# a garbage collector that is not running.
# A CustomResourceDefinition is still awaited: the API server itself establishes it, and its custom resources need it.
_BACKGROUND_DELETION = {"pulumi.com/deletionPropagationPolicy": "background"}
_SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
_AWAITED_WITHOUT_CONTROLLERS = frozenset({"CustomResourceDefinition"})


@dataclass(frozen=True)
class Kube:
    """How every object of the apps layer reaches the cluster: one provider (which waits for the install to be
    complete), and the namespaces the apps layer has registered so far (each namespaced object waits for its own)."""

    provider: pulumi.ProviderResource
    namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)
    # False only against an API server that runs no controllers (the real-engine tier): nothing there ever becomes
    # ready or is finalised, so the provider neither waits for readiness nor deletes in the foreground.
    await_objects: bool = True

    def options(self, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource], token: str
                ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider, parent=parent, depends_on=list(depends_on),
                                      additional_secret_outputs=_SECRET_OUTPUTS.get(token))


def resource_name(manifest: dict[str, Any]) -> str:
    """Stable Pulumi name: `<namespace>/<name>` for namespaced objects, the object's name otherwise."""
    metadata = manifest["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else metadata["name"]


def type_token(api_version: str, kind: str, patch: bool = False) -> str:
    """The provider's type for a kind: the core group is `core`, every other group keeps its full name."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}{'Patch' if patch else ''}"


def without_awaiting(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest whose annotations tell the provider not to wait for the object (see Kube)."""
    metadata = dict(manifest["metadata"])
    skip = {} if manifest["kind"] in _AWAITED_WITHOUT_CONTROLLERS else _SKIP_AWAIT
    metadata["annotations"] = {**metadata.get("annotations", {}), **skip, **_BACKGROUND_DELETION}
    return {**manifest, "metadata": metadata}


def register(manifest: dict[str, Any], kube: Kube, parent: pulumi.Resource,
             depends_on: Sequence[pulumi.Resource] = (), patch: bool = False) -> pulumi.CustomResource:
    """Create (or, with `patch`, server-side-apply a patch to) the object the manifest describes, after its
    namespace when the apps layer creates that namespace."""
    token = type_token(manifest["apiVersion"], manifest["kind"], patch)
    if not kube.await_objects and not patch:
        manifest = without_awaiting(manifest)
    own_namespace = kube.namespaces.get(manifest["metadata"].get("namespace", ""))
    waits = [*([own_namespace] if own_namespace is not None else []), *depends_on]
    resource = pulumi.CustomResource(token, resource_name(manifest), dict(manifest),
                                     kube.options(parent, waits, token))
    if manifest["kind"] == "Namespace" and not patch:
        kube.namespaces[manifest["metadata"]["name"]] = resource
    return resource


def _without_awaiting_child(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """A chart's rendered object, annotated as `without_awaiting` annotates the apps' own (see Kube)."""
    props = args.props
    if not args.type_.startswith("kubernetes:") or "metadata" not in props or "kind" not in props:
        return None
    return pulumi.ResourceTransformResult(props={**props, **without_awaiting(dict(props))}, opts=args.opts)


def register_chart(release: ChartRelease, source: ChartSource, kube: Kube, parent: pulumi.Resource,
                   depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.Resource:
    """Render a pinned upstream chart in the provider plugin and create each object it renders (a child of the
    Chart component: `pulumi preview` shows them one by one)."""
    from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs

    reference = chart_reference(release, source)
    repository = reference.pop("repository", None)
    own_namespace = kube.namespaces.get(release.namespace)
    waits = [*([own_namespace] if own_namespace is not None else []), *depends_on]
    return Chart(release.release, **reference,
                 repository_opts=RepositoryOptsArgs(repo=repository) if repository else None,
                 name=release.release, namespace=release.namespace, values=release.values,
                 value_yaml_files=[pulumi.StringAsset(release.unset_yaml())] if release.unset else None,
                 skip_crds=release.skip_crds, skip_await=not kube.await_objects,
                 opts=pulumi.ResourceOptions(
                     parent=parent, depends_on=waits, providers=[kube.provider],
                     transforms=None if kube.await_objects else [_without_awaiting_child]))

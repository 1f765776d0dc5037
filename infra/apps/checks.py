"""Checks on the built manifests before any is registered: what the API server would refuse, said in our words.

The builders derive selectors, names and resources from validated settings, so these should never fire; they guard
the builders themselves (a refactoring that breaks a selector fails here with the object's name, not at `up`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from infra.spec.errors import Problem

_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Kinds whose names must be DNS labels (they become DNS names or labels themselves).
_LABEL_NAMED = {"Namespace", "Service", "Job"}
_WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}
_SUFFIXES = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(1000), "M": Decimal(1000) ** 2,
             "G": Decimal(1000) ** 3, "Ki": Decimal(1024), "Mi": Decimal(1024) ** 2, "Gi": Decimal(1024) ** 3,
             "Ti": Decimal(1024) ** 4}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|Ki|Mi|Gi|Ti)?$")
# Namespaces OKD itself provides; the apps layer may put objects there without creating them.
# Both monitoring namespaces come with the cluster (the monitoring operator's namespace manifest), and so does
# OLM's catalog namespace (the marketplace operator's), where the CatalogSources the stack adds live.
PLATFORM_NAMESPACES = frozenset({"openshift-monitoring", "openshift-user-workload-monitoring",
                                 "openshift-marketplace"})


def quantity(text: str) -> Decimal:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def _where(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{manifest.get('kind')} {namespace + '/' if namespace else ''}{metadata.get('name')}"


def _name_problems(manifest: dict[str, Any]) -> list[Problem]:
    name = str(manifest["metadata"].get("name", ""))
    pattern = _DNS_LABEL if manifest["kind"] in _LABEL_NAMED else _DNS_SUBDOMAIN
    if pattern.match(name):
        return []
    what = "an RFC 1123 label" if pattern is _DNS_LABEL else "an RFC 1123 subdomain"
    return [Problem(_where(manifest), name, f"name is not {what} (lower case, digits, '-', '.')",
                    "rename it (the app's settings or builder in infra/apps)")]


def _selector_problems(manifest: dict[str, Any]) -> list[Problem]:
    spec = manifest["spec"]
    selector = spec.get("selector", {}).get("matchLabels", {})
    pod_labels = spec["template"].get("metadata", {}).get("labels", {})
    if selector and selector.items() <= pod_labels.items():
        return []
    return [Problem(f"{_where(manifest)} spec.selector", selector,
                    f"selects no pod of its own template (pod labels: {pod_labels})",
                    "select by labels the pod template carries (infra/apps/objects.selector)")]


def _resource_problems(manifest: dict[str, Any], pod: dict[str, Any]) -> list[Problem]:
    problems = []
    for container in pod.get("containers", []):
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        where = f"{_where(manifest)} container {container['name']}"
        if not limits:
            problems.append(Problem(where, resources, "no resource limits", "give requests and limits"))
        for name, request in sorted(requests.items()):
            limit = limits.get(name)
            if limit is None:
                continue
            if "/" in name and quantity(str(request)) != quantity(str(limit)):
                problems.append(Problem(f"{where} {name}", (request, limit),
                                        "an extended resource (a GPU slice) must request exactly its limit",
                                        "set request == limit"))
            elif quantity(str(request)) > quantity(str(limit)):
                problems.append(Problem(f"{where} {name}", (request, limit), f"request {request} is above limit "
                                        f"{limit}", "set request <= limit"))
    return problems


def _pod_of(manifest: dict[str, Any]) -> dict[str, Any] | None:
    if manifest["kind"] in _WORKLOADS or manifest["kind"] == "Job":
        return manifest["spec"]["template"]["spec"]
    return None


def manifest_problems(manifests: Iterable[dict[str, Any]]) -> list[Problem]:
    manifests = list(manifests)
    created = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"} | PLATFORM_NAMESPACES
    problems = []
    for manifest in manifests:
        problems += _name_problems(manifest)
        if manifest["kind"] in _WORKLOADS:
            problems += _selector_problems(manifest)
        pod = _pod_of(manifest)
        if pod is not None:
            problems += _resource_problems(manifest, pod)
        namespace = manifest["metadata"].get("namespace")
        if namespace is not None and namespace not in created:
            problems.append(Problem(_where(manifest), namespace, "its namespace is neither created by the apps "
                                    "layer nor one OKD provides", "create the namespace in the app's component"))
    return problems

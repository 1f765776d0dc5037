"""The apps layer on a cluster that is not OKD: the OKD-only kinds mapped to their Kubernetes equivalent or left out.

The clusters the stacks build are OKD, and the apps use its kinds (Routes, SCCs, OLM, MachineConfigs). A cluster
given by kubeconfig (eaf:existingCluster) may be a plain Kubernetes: there a Route becomes an Ingress of the
stack's IngressClass, and what has no equivalent is left out, each with the reason infra/data/platforms.yaml
gives, so the output says what the cluster's owner must provide. Nothing is faked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from infra.apps.deploy import AppsPlan
from infra.spec.base import Strict

_DATA = Path(__file__).resolve().parents[1] / "data" / "platforms.yaml"

Platform = Literal["okd", "kubernetes"]
ROUTE = "route.openshift.io/v1 Route"
INGRESS = "networking.k8s.io/v1 Ingress"


class PlatformRules(Strict):
    mapped: dict[str, str] = Field(default_factory=dict)
    left_out: dict[str, str] = Field(default_factory=dict)  # API group -> why
    left_out_groups: dict[str, str] = Field(default_factory=dict)  # ObjectGroup name -> why
    left_out_apps: dict[str, str] = Field(default_factory=dict)  # eaf:apps key -> why


class _Platforms(Strict):
    platforms: dict[Platform, PlatformRules]


@cache
def platform_rules(platform: Platform) -> PlatformRules:
    with open(_DATA, encoding="utf-8") as handle:
        return _Platforms.model_validate(yaml.safe_load(handle)).platforms[platform]


@dataclass(frozen=True)
class LeftOut:
    what: str  # "3 SecurityContextConstraints" or "app gpuOperator"
    why: str

    def line(self, platform: str) -> str:
        return f"{platform} cluster: left out {self.what}: {self.why}"


@dataclass(frozen=True)
class PlatformPlan:
    plan: AppsPlan
    left_out: tuple[LeftOut, ...]
    mapped: tuple[str, ...]  # "2 Route -> Ingress"


def _kind(manifest: dict[str, Any]) -> str:
    return f"{manifest['apiVersion']} {manifest['kind']}"


def _group(manifest: dict[str, Any]) -> str:
    api = manifest["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def _without_router_annotations(metadata: dict[str, Any]) -> dict[str, Any]:
    """The router's own annotations (haproxy.router.openshift.io/..., route.openshift.io/...) mean nothing to
    another ingress controller."""
    metadata = dict(metadata)
    annotations = {k: v for k, v in (metadata.pop("annotations", None) or {}).items()
                   if "openshift.io/" not in k}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def ingress_for_class(ingress: dict[str, Any], ingress_class: str) -> dict[str, Any]:
    """An Ingress for OKD's router (class openshift-default: those with their own certificate) as one for the
    cluster's own ingress controller; its TLS section, certificate Secret included, stays."""
    return {**ingress, "metadata": _without_router_annotations(ingress["metadata"]),
            "spec": {**ingress["spec"], "ingressClassName": ingress_class}}


def route_as_ingress(route: dict[str, Any], ingress_class: str) -> dict[str, Any]:
    """An OKD Route as the Ingress that serves the same host: TLS at the ingress controller with its default
    certificate (as the Route's edge termination uses the router's wildcard one), one path to the same Service port."""
    metadata = _without_router_annotations(route["metadata"])
    spec = route["spec"]
    host = spec["host"]
    port = spec["port"]["targetPort"]
    service_port = {"number": port} if isinstance(port, int) else {"name": port}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata,
            "spec": {"ingressClassName": ingress_class,
                     "tls": [{"hosts": [host]}],
                     "rules": [{"host": host, "http": {"paths": [{
                         "path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": spec["to"]["name"], "port": service_port}}}]}}]}}


def for_platform(plan: AppsPlan, platform: Platform, ingress_class: str | None) -> PlatformPlan:
    """`plan` as it deploys onto `platform`: unchanged on OKD."""
    rules = platform_rules(platform)
    left_out: list[LeftOut] = []
    counts: dict[tuple[str, str], int] = {}
    routes = ingresses = 0
    builds = []
    for definition, build in plan.builds:
        config_key = definition.config_key
        if config_key in rules.left_out_apps:
            left_out.append(LeftOut(f"app {config_key} ({len(build.manifests)} objects)",
                                    rules.left_out_apps[config_key]))
            continue
        groups = []
        for group in build.groups:
            if group.name in rules.left_out_groups and group.manifests:
                left_out.append(LeftOut(f"{config_key}'s {group.name} ({len(group.manifests)} objects)",
                                        rules.left_out_groups[group.name]))
                groups.append(replace(group, manifests=[]))
                continue
            kept = []
            for manifest in group.manifests:
                if _group(manifest) in rules.left_out:
                    key = (_group(manifest), manifest["kind"])
                    counts[key] = counts.get(key, 0) + 1
                elif _kind(manifest) == ROUTE and rules.mapped.get(ROUTE) == INGRESS:
                    assert ingress_class is not None, "validated: platform kubernetes names its ingressClass"
                    kept.append(route_as_ingress(manifest, ingress_class))
                    routes += 1
                elif _kind(manifest) == INGRESS and ingress_class is not None:  # validated: kubernetes only
                    kept.append(ingress_for_class(manifest, ingress_class))
                    ingresses += 1
                else:
                    kept.append(manifest)
            groups.append(replace(group, manifests=kept))  # empty groups stay, so `after` still holds
        builds.append((definition, replace(build, groups=tuple(groups))))
    left_out += [LeftOut(f"{n} {kind}", rules.left_out[group]) for (group, kind), n in sorted(counts.items())]
    mapped = ((f"{routes} Route -> Ingress (class {ingress_class})",) if routes else ()) + (
        (f"{ingresses} Ingress of OKD's router -> class {ingress_class}",) if ingresses else ())
    return PlatformPlan(replace(plan, builds=tuple(builds)), tuple(left_out), mapped)

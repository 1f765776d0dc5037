"""Build every enabled app once, check all their objects together, then register them on the cluster.

`plan_apps` runs right after the stack is validated, before the first resource of the stack is registered: a broken
builder (a selector that selects nothing, a request above its limit) stops the program before anything is created.
`deploy_apps` registers the same objects once the cluster can be reached, one ComponentResource per app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.apps.app import AppBuild, AppDefinition, Credentials
from infra.apps.charts import ChartSource
from infra.apps.checks import manifest_problems
from infra.apps.kube import Kube, register, register_chart
from infra.apps.validate import app_context
from infra.contracts import AppsInput, ClusterAccess
from infra.spec.errors import ConfigError


@dataclass(frozen=True)
class AppsPlan:
    stack: str
    builds: tuple[tuple[AppDefinition, AppBuild], ...]
    chart_source: ChartSource = ChartSource()

    @property
    def manifests(self) -> list[dict[str, Any]]:
        return [m for _, build in self.builds for m in build.manifests]


def build_apps(args: AppsInput, credentials: Credentials) -> AppsPlan:
    """Every enabled app's objects, unchecked (the API-server tiers submit deliberately broken ones)."""
    context = app_context(args.stack, args.apps, args.plan, credentials)
    return AppsPlan(args.stack, tuple((d, d.build(context)) for d in args.apps.enabled()), args.apps.charts)


def plan_apps(args: AppsInput, credentials: Credentials) -> AppsPlan:
    """Every enabled app's objects, checked together; a problem raises before anything is registered."""
    plan = build_apps(args, credentials)
    problems = manifest_problems(plan.manifests)
    if problems:
        raise ConfigError(args.stack, problems)
    return plan


class App(pulumi.ComponentResource):
    """One app on the cluster (`eaf:apps:<App>`): its objects, group by group."""

    def __init__(self, definition: AppDefinition, build: AppBuild, kube: Kube, chart_source: ChartSource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"eaf:apps:{definition.component}", definition.key.replace("_", "-"), None, opts)
        registered: dict[str, list[pulumi.Resource]] = {}

        def charts() -> list[pulumi.Resource]:
            return [register_chart(chart, chart_source, kube, self)
                    for chart in build.charts]

        for group in build.groups:
            if "charts" in group.after and "charts" not in registered:
                registered["charts"] = charts()
            waits = [r for name in group.after for r in registered[name]]
            registered[group.name] = [register(m, kube, self, waits, patch=group.patch) for m in group.manifests]
        if "charts" not in registered:
            registered["charts"] = charts()
        self.objects = [r for group in registered.values() for r in group]
        self.register_outputs(build.outputs)


def deploy_apps(plan: AppsPlan, access: ClusterAccess | None, await_objects: bool = True) -> None:
    """Nothing is registered when there is no cluster to reach (`access` is None: install off, e.g. local).
    `await_objects` False only for an API server that runs no controllers (see infra.apps.kube.Kube)."""
    exported: dict[str, str] = {}
    if access is not None and plan.builds:
        import pulumi_kubernetes as k8s

        # One provider for every app object; its kubeconfig stays a secret (the cluster's admin credential). It
        # waits for the install to be complete, and so, through it, does every object: one edge, not one per object.
        # ConfigMaps and Secrets change in place (the plugin's default replaces one on any data change, and a named
        # one is deleted before its replacement exists); the pods that read one carry its content hash and roll (the
        # charts' pods too: the hub Deployment carries the checksum of its Secret).
        provider = k8s.Provider(f"{plan.stack}-cluster", kubeconfig=access.kubeconfig,
                                enable_config_map_mutable=True, enable_secret_mutable=True,
                                opts=pulumi.ResourceOptions(depends_on=list(access.ready)))
        kube = Kube(provider, await_objects=await_objects)
        for definition, build in plan.builds:
            App(definition, build, kube, plan.chart_source)
            exported.update(build.exports)
    pulumi.export("apps", exported)

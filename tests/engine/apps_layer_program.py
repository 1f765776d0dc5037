"""The apps layer of one stack, alone, as tests/engine/test_apps_layer_real.py runs it with the real engine and the
real Kubernetes provider plugin against the test API server (tests/support/apiserver.py).

It is the stack's own path through the program (infra/program.py): the stack's config validated by `load_spec`, the
objects built and checked by `plan_apps`, registered by `deploy_apps`. Only the cluster differs:
- the kubeconfig is the test server's (project config `kubeconfig`, a secret) instead of the installer's;
- the objects of kinds the test server does not serve (project config `leftOutKinds`, "apiVersion Kind" each: those
  of OKD's and the operators' kinds whose upstream CRD could not be built) are left out, and the test fails naming
  them;
- `await_objects=False`: the server runs no controllers, so nothing would ever become ready (infra/apps/kube.py).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pulumi

from infra import stages
from infra.apps.credentials import AppCredentials
from infra.apps.deploy import AppsPlan, deploy_apps, plan_apps
from infra.contracts import ClusterAccess
from infra.paths import PROJECT_DIR
from infra.spec.load import load_spec
from infra.stack_config import engine_config


def _kind(manifest: dict) -> str:
    return f"{manifest['apiVersion']} {manifest['kind']}"


def served_only(plan: AppsPlan, left_out_kinds: set[str]) -> AppsPlan:
    """The plan without the objects of kinds the server does not serve (empty groups stay, so `after` holds)."""
    builds = tuple(
        (definition, replace(build, groups=tuple(
            replace(group, manifests=[m for m in group.manifests if _kind(m) not in left_out_kinds])
            for group in build.groups)))
        for definition, build in plan.builds)
    return replace(plan, builds=builds)


def main() -> None:
    stack = pulumi.get_stack()
    own = pulumi.Config()
    loaded = load_spec(stack, engine_config(), PROJECT_DIR)
    plan = served_only(plan_apps(stages.apps_input(loaded), AppCredentials()),
                       set(json.loads(own.require("leftOutKinds"))))
    access = ClusterAccess(api_url="", console_url="", kubeconfig=own.require_secret("kubeconfig"),
                           kubeadmin_password=None, okd_version=None)
    deploy_apps(plan, access, await_objects=False)

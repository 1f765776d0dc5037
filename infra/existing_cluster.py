"""Apps-only mode (eaf:existingCluster): the apps layer onto a cluster the stack does not build.

No network, volume, VM or OKD install is registered: the apps are planned and checked exactly as on the stack's own
cluster, adapted to the platform (infra/apps/platform.py), and registered through one provider on the kubeconfig of
eaf:existingClusterKubeconfig (a secret end to end). What a migration's redeploy needs, and what a plain Kubernetes
runs the apps on.

A stack that built VMs cannot switch to this mode: its next update would delete every VM it registered before.
"""

from __future__ import annotations

import pulumi

from infra import stages
from infra.apps.credentials import AppCredentials
from infra.apps.deploy import deploy_apps, plan_apps
from infra.apps.platform import for_platform
from infra.catalog import versions_document
from infra.contracts import ClusterAccess
from infra.spec.errors import ConfigError, Problem
from infra.spec.existing_cluster import KUBECONFIG_KEY
from infra.spec.layering import NAMESPACE
from infra.spec.load import LoadedStack
from infra.spec.secret_values import kubeconfig_server
from infra.stack_outputs import OutputsUnknownError, previous_outputs

MACHINES_OUTPUT = "ignitionSha256"  # exported by every update that registers VMs: node -> its Ignition's digest


def machines_problem(stack: str, platform: str, outputs: dict) -> Problem | None:
    """Why this stack must not switch to apps-only mode: the VMs its last update made would be deleted."""
    nodes = sorted(outputs.get(MACHINES_OUTPUT) or {})
    if not nodes:
        return None
    shown = ", ".join(nodes[:5]) + (f" and {len(nodes) - 5} more" if len(nodes) > 5 else "")
    return Problem("eaf:existingCluster", {"platform": platform},
                   f"this stack's last update made {len(nodes)} VMs ({shown}); deploying only the apps registers "
                   "none, so this update would delete them all",
                   f"deploy onto that cluster from a stack of its own (pulumi stack init <name>, with this "
                   f"config), or remove eaf:existingCluster from stack {stack}")


def deploy_onto_existing_cluster(loaded: LoadedStack) -> None:
    existing = loaded.spec.existing_cluster
    assert existing is not None
    try:
        problem = machines_problem(loaded.stack, existing.platform, previous_outputs())
    except OutputsUnknownError as error:
        raise ConfigError(loaded.stack, [Problem(
            "eaf:existingCluster", {"platform": existing.platform},
            f"cannot read this stack's last outputs ({error}), so cannot tell whether it made VMs that this update "
            "would delete", "run it where the engine reaches the stack's state backend")]) from None
    if problem is not None:
        raise ConfigError(loaded.stack, [problem])
    # Every app's objects are built and checked before anything is registered, as on the stack's own cluster.
    adapted = for_platform(plan_apps(stages.apps_input(loaded), AppCredentials()), existing.platform,
                           existing.ingress_class)
    for left in adapted.left_out:
        pulumi.log.info(left.line(existing.platform))
    for mapped in adapted.mapped:
        pulumi.log.info(f"{existing.platform} cluster: mapped {mapped}")
    kubeconfig = pulumi.Output.secret(pulumi.Config(NAMESPACE).require_secret(KUBECONFIG_KEY))
    api_url = pulumi.Output.unsecret(kubeconfig.apply(kubeconfig_server))
    deploy_apps(adapted.plan, ClusterAccess(api_url=api_url, console_url="", kubeconfig=kubeconfig,
                                            kubeadmin_password=None, okd_version=None))
    pulumi.export("apiUrl", api_url)
    pulumi.export("existingCluster", {"platform": existing.platform,
                                      "leftOut": [f"{left.what}: {left.why}" for left in adapted.left_out],
                                      "mapped": list(adapted.mapped)})
    pulumi.export("pins", versions_document())
    pulumi.log.info(f"stack {loaded.stack}: apps only, onto an existing {existing.platform} cluster "
                    f"({sum(len(b.manifests) for _, b in adapted.plan.builds)} objects; no VM, no install)")

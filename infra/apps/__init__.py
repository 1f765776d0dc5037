"""Apps on the cluster, each a ComponentResource switched on/off per stack (`eaf:apps.<app>`).

All objects go through one Kubernetes provider built from the install's kubeconfig and wait for the install to be
complete. Nothing is registered when there is no cluster to reach (`access` is None: install off, e.g. local).
This module imports pulumi_kubernetes only when apps are deployed.
"""

from __future__ import annotations

import pulumi

from infra.contracts import ClusterAccess
from infra.secrets import StackSecrets
from infra.spec.load import LoadedStack


def deploy_apps(loaded: LoadedStack, secrets: StackSecrets, access: ClusterAccess | None) -> None:
    if access is None:
        pulumi.export("apps", {})  # no cluster to reach: the output says so instead of being absent
        return None
    from infra.apps.deploy import deploy

    deploy(loaded, access)
    return None

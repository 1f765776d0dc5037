"""Apps on the cluster. PLACEHOLDER until the apps work lands."""

from __future__ import annotations

from infra.contracts import ClusterAccess
from infra.secrets import StackSecrets
from infra.spec.load import LoadedStack


def deploy_apps(loaded: LoadedStack, secrets: StackSecrets, access: ClusterAccess | None) -> None:
    return None

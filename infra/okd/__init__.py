"""OKD install (UPI, platform none). PLACEHOLDER until the OKD-install work lands: MCS pointers, no install."""

from __future__ import annotations

from infra.contracts import ClusterAccess, InstallAssets, Machines
from infra.secrets import StackSecrets
from infra.spec.load import LoadedStack


def _pointer(loaded: LoadedStack, role: str) -> str:
    return (
        '{"ignition":{"config":{"merge":[{"source":"https://api-int.' + loaded.plan.domain
        + ':22623/config/' + role + '"}]},"version":"3.2.0"}}'
    )


def prepare_install(loaded: LoadedStack, secrets: StackSecrets) -> InstallAssets:
    return InstallAssets(master_pointer=_pointer(loaded, "master"), worker_pointer=_pointer(loaded, "worker"),
                         bootstrap=None)


def bring_up(loaded: LoadedStack, secrets: StackSecrets, assets: InstallAssets, machines: Machines | None
             ) -> ClusterAccess | None:
    return None

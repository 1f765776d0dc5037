"""OKD install (UPI, platform none) as Pulumi resources.

prepare_install: install-config -> openshift-install (fetch, create manifests, create ignition-configs) -> the
Ignition the node configs build on. bring_up: after the VMs exist, wait for bootstrap, take the bootstrap out of the
load balancer, approve CSRs until every node is Ready, wait for install-complete. With `okd.install.enabled: false`
(the local stack) nothing runs: the nodes get pointer configs and there is no cluster to hand on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.contracts import ClusterAccess, InstallAssets, Machines
from infra.okd.pointers import mcs_pointer
from infra.secrets import StackSecrets
from infra.spec.load import LoadedStack

if TYPE_CHECKING:
    from infra.okd.installer import Installer

INSTALLER_NAME = "okd-installer"
BRING_UP_NAME = "okd-bring-up"


@dataclass(frozen=True)
class OkdInstallAssets(InstallAssets):
    """InstallAssets plus the installer that made them, which bring_up continues from (its work dir, triggers)."""

    installer: Installer | None = None


def prepare_install(loaded: LoadedStack, secrets: StackSecrets) -> InstallAssets:
    if not loaded.spec.okd.install.enabled:
        return InstallAssets(master_pointer=mcs_pointer(loaded, "master"), worker_pointer=mcs_pointer(loaded, "worker"),
                             bootstrap=None)
    from infra.okd.install_config import install_config
    from infra.okd.installer import Installer, installer_args

    args = installer_args(loaded)
    text = install_config(loaded, secrets)  # checked: config problems raise before the first resource
    installer = Installer(INSTALLER_NAME, args, text)
    return OkdInstallAssets(
        master_pointer=installer.pointer("master"), worker_pointer=installer.pointer("worker"),
        bootstrap=installer.file("bootstrap.ign"), depends_on=(installer.ignition_configs,), installer=installer)


def bring_up(loaded: LoadedStack, secrets: StackSecrets, assets: InstallAssets, machines: Machines | None
             ) -> ClusterAccess | None:
    installer = assets.installer if isinstance(assets, OkdInstallAssets) else None
    if not loaded.spec.okd.install.enabled or installer is None:
        return None
    from infra.okd.bring_up_steps import BringUp, bring_up_args

    domains = tuple(machines.domains.values()) if machines is not None else ()
    stages = BringUp(BRING_UP_NAME, bring_up_args(loaded, installer.args.work_dir), installer, domains)
    domain = loaded.plan.domain
    return ClusterAccess(
        api_url=f"https://api.{domain}:6443",
        console_url=f"https://console-openshift-console.apps.{domain}",
        kubeconfig=installer.file("auth/kubeconfig"),
        kubeadmin_password=installer.file("auth/kubeadmin-password").apply(str.strip),
        okd_version=loaded.okd_release,
        ready=(stages.install_complete,),
    )

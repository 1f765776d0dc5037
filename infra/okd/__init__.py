"""OKD install (UPI, platform none) as Pulumi resources.

prepare_install: install-config -> openshift-install (fetch, create manifests, create ignition-configs) -> the
Ignition the node configs build on. Its result's bring_up, once the VMs exist: wait for bootstrap, take the
bootstrap out of the load balancer, approve CSRs until every node is Ready, wait for install-complete, set the
cluster-wide settings a running cluster changes in place. With `okd.install.enabled: false` (the local stack)
nothing runs: the nodes get pointer configs and there is no cluster to hand on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.contracts import ClusterAccess, Install, InstallAssets, InstallInput, Machines
from infra.okd.pointers import mcs_pointer
from infra.plan.model import Role
from infra.secrets import StackSecrets

if TYPE_CHECKING:
    import pulumi

    from infra.okd.installer import Installer

INSTALLER_NAME = "okd-installer"
BRING_UP_NAME = "okd-bring-up"


@dataclass(frozen=True)
class PointersOnly:
    """No installer: the nodes merge their role's config from the machine-config server; nothing to bring up."""

    assets: InstallAssets

    def bring_up(self, machines: Machines) -> None:
        return None


@dataclass(frozen=True)
class OkdInstall:
    """openshift-install ran (or will): its Ignition now, and the bring-up on the machines it is handed."""

    install: InstallInput
    installer: Installer
    assets: InstallAssets
    pull_secret: pulumi.Input[str]

    def bring_up(self, machines: Machines) -> ClusterAccess:
        from infra.okd.bootstrap_retirement import bootstrap_record
        from infra.okd.bring_up_steps import BringUp, bring_up_args

        steps = BringUp(BRING_UP_NAME, bring_up_args(self.install, self.installer.args.work_dir), self.installer,
                        tuple(machines.domains.values()), self.pull_secret)
        domain = self.install.plan.domain
        return ClusterAccess(
            api_url=f"https://api.{domain}:6443",
            console_url=f"https://console-openshift-console.apps.{domain}",
            kubeconfig=self.installer.file("auth/kubeconfig"),
            kubeadmin_password=self.installer.file("auth/kubeadmin-password").apply(str.strip),
            okd_version=self.install.release_name,
            ready=(steps.install_complete,),
            bootstrap=bootstrap_record(self.install, steps.bootstrap_complete.stdout,
                                       bool(self.install.plan.by_role(Role.BOOTSTRAP))),
        )


def prepare_install(install: InstallInput, secrets: StackSecrets) -> Install:
    if not install.okd.install.enabled:
        domain = install.plan.domain
        return PointersOnly(InstallAssets(master_pointer=mcs_pointer(domain, "master"),
                                          worker_pointer=mcs_pointer(domain, "worker"), bootstrap=None))
    from infra.okd.install_config import install_config
    from infra.okd.installer import Installer, installer_args

    args = installer_args(install)
    text = install_config(install, secrets)  # checked: config problems raise before the first resource
    installer = Installer(INSTALLER_NAME, args, text, redact=(secrets.pull_secret,))
    assets = InstallAssets(master_pointer=installer.pointer("master"), worker_pointer=installer.pointer("worker"),
                           bootstrap=installer.file("bootstrap.ign"))
    return OkdInstall(install, installer, assets, secrets.pull_secret)

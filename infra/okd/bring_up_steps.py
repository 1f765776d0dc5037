"""Bring the installed cluster up after the VMs exist: bootstrap-complete, bootstrap out of the load balancer, CSR
approval until every node is Ready, install-complete. Each wait is a Command replaced only with a new install."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.contracts import InstallInput
from infra.okd.installer import Installer
from infra.okd.step_command import Step, step_command
from infra.plan.model import Role

WAIT_TIMEOUT_MINUTES = 90  # the installer gives up after its own timeouts (bootstrap 45 min, install 40 min) first


@dataclass(frozen=True)
class BringUpArgs:
    work_dir: str
    expected_nodes: tuple[str, ...]  # host names of controllers, workers and GPU workers: all must be Ready
    csr_minutes: int
    load_balancers: tuple[tuple[str, str], ...]  # (node, address) of each LB VM; none: the site's own balancer
    lb_runtime_api: str


def bring_up_args(install: InstallInput, work_dir: str) -> BringUpArgs:
    settings = install.okd.install
    lbs = install.plan.by_role(Role.LOAD_BALANCER)
    return BringUpArgs(
        work_dir=work_dir,
        expected_nodes=tuple(sorted(n.hostname for n in install.plan.with_flag(cluster_node=True))),
        csr_minutes=settings.csr_approval_minutes,
        load_balancers=tuple((n.name, str(n.ip)) for n in lbs),
        lb_runtime_api=settings.lb_runtime_api,
    )


class BringUp(pulumi.ComponentResource):
    """The install's second half, on the running VMs."""

    def __init__(self, name: str, args: BringUpArgs, installer: Installer, machines: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:okd:BringUp", name, None, opts)
        work = {"EAF_WORK_DIR": args.work_dir}
        triggers = installer.triggers
        self.bootstrap_complete = step_command(f"{name}-wait-bootstrap-complete", Step(
            create="wait-bootstrap-complete", update="keep", environment=work, triggers=triggers,
            timeout_minutes=WAIT_TIMEOUT_MINUTES), parent=self, depends_on=[installer.ignition_configs, *machines])
        # Each LB's HAProxy config always lists the bootstrap (health-checked), so its Ignition never changes; the
        # bootstrap leaves every balancer's rotation at runtime here, and its VM goes with eaf:nodes.bootstrap.enabled.
        after_bootstrap = [step_command(f"{name}-{node}-remove-bootstrap", Step(
            create="lb-remove-bootstrap", update="keep", triggers=triggers,
            environment={"EAF_LB_HOST": address, "EAF_LB_SSH_USER": "core",
                         "EAF_LB_RUNTIME_API": args.lb_runtime_api}), parent=self,
            depends_on=[self.bootstrap_complete]) for node, address in args.load_balancers]
        # Its update runs the approval again: a node added later (say a worker) gets its CSRs approved too.
        self.approve_csrs = step_command(f"{name}-approve-csrs", Step(
            create="approve-csrs", update="approve-csrs", triggers=triggers,
            environment={**work, "EAF_EXPECTED_NODES": ",".join(args.expected_nodes),
                         "EAF_TIMEOUT_MINUTES": str(args.csr_minutes)},
            timeout_minutes=args.csr_minutes + 10), parent=self, depends_on=[self.bootstrap_complete])
        self.install_complete = step_command(f"{name}-wait-install-complete", Step(
            create="wait-install-complete", update="keep", environment=work, triggers=triggers,
            timeout_minutes=WAIT_TIMEOUT_MINUTES), parent=self, depends_on=[self.approve_csrs, *after_bootstrap])
        self.register_outputs({"expectedNodes": list(args.expected_nodes)})

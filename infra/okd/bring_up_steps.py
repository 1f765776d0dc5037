"""Bring the installed cluster up after the VMs exist: bootstrap-complete, bootstrap out of the load balancer, CSR
approval until every node is Ready, install-complete, then the cluster-wide settings a running cluster changes in
place (infra/okd/cluster_settings.py). Each step is replaced only with a new install; approve-csrs and
apply-cluster-settings run again whenever their input changes (a new worker, a new proxy)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.contracts import InstallInput
from infra.okd.cluster_settings import ClusterSettings, cluster_settings, settings_text
from infra.okd.installer import Installer
from infra.okd.step_command import Step, step_command
from infra.plan.model import Role

WAIT_TIMEOUT_MINUTES = 90  # the installer gives up after its own timeouts (bootstrap 45 min, install 40 min) first


@dataclass(frozen=True)
class BringUpArgs:
    work_dir: str
    expected_nodes: tuple[str, ...]  # host names of controllers, workers and GPU workers: all must be Ready
    planned_nodes: str  # JSON list of {name, hostname, fqdn, ip} of those nodes: whose CSRs may be approved
    csr_minutes: int
    load_balancers: tuple[tuple[str, str], ...]  # (node, address) of each LB VM; none: the site's own balancer
    lb_runtime_api: str
    settings: ClusterSettings


def _planned_nodes(install: InstallInput) -> str:
    nodes = sorted(install.plan.with_flag(cluster_node=True), key=lambda n: n.name)
    return json.dumps([{"name": n.name, "hostname": n.hostname, "fqdn": n.fqdn, "ip": str(n.ip)} for n in nodes],
                      sort_keys=True)


def bring_up_args(install: InstallInput, work_dir: str) -> BringUpArgs:
    settings = install.okd.install
    lbs = install.plan.by_role(Role.LOAD_BALANCER)
    return BringUpArgs(
        work_dir=work_dir,
        expected_nodes=tuple(sorted(n.hostname for n in install.plan.with_flag(cluster_node=True))),
        planned_nodes=_planned_nodes(install),
        csr_minutes=settings.csr_approval_minutes,
        load_balancers=tuple((n.name, str(n.ip)) for n in lbs),
        lb_runtime_api=settings.lb_runtime_api,
        settings=cluster_settings(install),
    )


class BringUp(pulumi.ComponentResource):
    """The install's second half, on the running VMs."""

    def __init__(self, name: str, args: BringUpArgs, installer: Installer, machines: Sequence[pulumi.Resource],
                 pull_secret: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:okd:BringUp", name, None, opts)
        work = {"EAF_WORK_DIR": args.work_dir}
        triggers = installer.triggers
        # The steps read these files themselves too; the provider replaces them in whatever a step prints.
        redact = (pull_secret, installer.file("auth/kubeadmin-password"))
        self.bootstrap_complete = step_command(f"{name}-wait-bootstrap-complete", Step(
            create="wait-bootstrap-complete", update="keep", environment=work, triggers=triggers,
            timeout_minutes=WAIT_TIMEOUT_MINUTES, redact=redact), parent=self,
            depends_on=[installer.ignition_configs, *machines])
        # Each LB's HAProxy config always lists the bootstrap (health-checked), so its Ignition never changes; the
        # bootstrap leaves every balancer's rotation at runtime here, and its VM goes once bootstrap-complete is
        # recorded (infra/okd/bootstrap_retirement.py).
        after_bootstrap = [step_command(f"{name}-{node}-remove-bootstrap", Step(
            create="lb-remove-bootstrap", update="keep", triggers=triggers,
            environment={"EAF_LB_HOST": address, "EAF_LB_SSH_USER": "core",
                         "EAF_LB_RUNTIME_API": args.lb_runtime_api}), parent=self,
            depends_on=[self.bootstrap_complete]) for node, address in args.load_balancers]
        # Its update runs the approval again: a node added later (say a worker) gets its CSRs approved too.
        self.approve_csrs = step_command(f"{name}-approve-csrs", Step(
            create="approve-csrs", update="approve-csrs", triggers=triggers,
            environment={**work, "EAF_PLANNED_NODES": args.planned_nodes,
                         "EAF_TIMEOUT_MINUTES": str(args.csr_minutes)},
            timeout_minutes=args.csr_minutes + 10, redact=redact), parent=self, depends_on=[self.bootstrap_complete])
        self.install_complete = step_command(f"{name}-wait-install-complete", Step(
            create="wait-install-complete", update="keep", environment=work, triggers=triggers,
            timeout_minutes=WAIT_TIMEOUT_MINUTES, redact=redact), parent=self,
            depends_on=[self.approve_csrs, *after_bootstrap])
        # After the nodes are Ready (approve-csrs), so masters become unschedulable only once a worker can take the
        # workloads. Its stdin holds the pull secret: secret in the state like every step's stdin.
        document = pulumi.Output.secret(pulumi.Output.from_input(pull_secret).apply(
            lambda secret: settings_text(args.settings, secret)))
        self.cluster_settings = step_command(f"{name}-apply-cluster-settings", Step(
            create="apply-cluster-settings", update="apply-cluster-settings", environment=work, triggers=triggers,
            stdin=document, timeout_minutes=15, redact=redact), parent=self,
            depends_on=[self.install_complete, self.approve_csrs])
        self.register_outputs({"expectedNodes": list(args.expected_nodes)})

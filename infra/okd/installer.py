"""The OKD installer run as Pulumi resources: fetch the pinned openshift-install, create manifests, create Ignition.

Triggers are what makes a new install: the release (and its installer checksum), the cluster-defining part of the
install-config (install_config.identity_hash) and the extra manifests. A trigger change replaces the steps (their
`create` runs: a new install, which create-manifests refuses while the work dir holds an installed cluster); any
other input change runs their `update`, which keeps what was made. What a running cluster changes in place (masters
schedulable, proxy, mirrors, trust bundle, pull secret) is set by bring-up's apply-cluster-settings instead, and the
generated manifests (the nodes' chrony MachineConfigs) reach running nodes through the node-settings app. Anything
else about the stack (VM sizes, apps) is no input of them at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi

from infra.contracts import InstallInput
from infra.okd import install_config as ic
from infra.okd.install_manifests import install_manifests
from infra.okd.step_command import Step, step_command
from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError, Problem


@dataclass(frozen=True)
class InstallerArgs:
    release: str
    cluster_domain: str  # <name>.<baseDomain>: the pointers OKD writes must name its machine-config server
    installer_url: str
    installer_sha256: str
    installer_cache: str
    installer_path: str | None
    work_dir: str  # the stack's work dir, `{stack}` already replaced; relative to the project dir unless absolute
    masters_schedulable: bool
    extra_manifests: str | None  # a repo dir, relative to the project dir
    extra_manifests_hash: str  # sha256 over the extra manifests' names and bytes ("" when there are none)
    install_identity: str  # sha256 of the install-config's cluster-defining part (install_config.identity_hash)
    openshift_manifests: tuple[tuple[str, str], ...] = ()  # (file name, YAML) generated from the plan, for openshift/


def _extra_manifests_hash(install: InstallInput) -> tuple[str, list[Problem]]:
    extra = install.okd.install.extra_manifests
    if extra is None:
        return "", []
    where = PROJECT_DIR / extra
    files = sorted(p for p in where.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file()) if where.is_dir() \
        else []
    if not files:
        return "", [Problem("eaf:okd.install.extraManifests", extra, f"{where} has no .yaml/.yml files",
                            "give a repo dir (relative to the project) that holds the extra manifests")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest(), []


def installer_args(install: InstallInput) -> InstallerArgs:
    """Everything the installer commands need, from the spec and versions.yaml; config problems raise here."""
    settings = install.okd.install
    pin = install.release.installer
    extra_hash, problems = _extra_manifests_hash(install)
    if "{stack}" not in settings.work_dir:
        problems.append(Problem("eaf:okd.install.workDir", settings.work_dir,
                                "has no {stack}: stacks would share one installer state (certificates, kubeconfig)",
                                "keep {stack} in the path, e.g. .work/{stack}/okd"))
    if problems:
        raise ConfigError(install.stack, problems)
    return InstallerArgs(
        release=install.release_name, cluster_domain=install.plan.domain, installer_url=pin.url,
        installer_sha256=pin.sha256,
        installer_cache=settings.installer_cache, installer_path=settings.installer_path,
        work_dir=settings.work_dir.replace("{stack}", install.stack),
        masters_schedulable=ic.masters_schedulable(install), extra_manifests=settings.extra_manifests,
        extra_manifests_hash=extra_hash, install_identity=ic.identity_hash(install),
        openshift_manifests=tuple(sorted(install_manifests(install).items())),
    )


def install_triggers(args: InstallerArgs) -> list[str]:
    """The inputs that mean "a different cluster": when one changes, the installer steps are replaced. Not the
    masters-schedulable choice (adding the first worker to a compact cluster flips it): the running cluster's
    Scheduler object takes it (apply-cluster-settings)."""
    return [args.release, args.installer_sha256, args.install_identity, args.extra_manifests_hash]


def install_digest(args: InstallerArgs) -> str:
    """One value naming this install (its triggers): what the state records bootstrap-complete for."""
    return "sha256:" + hashlib.sha256(json.dumps(install_triggers(args)).encode()).hexdigest()


class Installer(pulumi.ComponentResource):
    """openshift-install of the pinned release, run in the stack's work dir; its Ignition and credentials."""

    bundle: pulumi.Output[dict[str, str]]  # file name -> content, secret
    triggers: list[str]

    def __init__(self, name: str, args: InstallerArgs, install_config_text: pulumi.Output[str],
                 redact: tuple[pulumi.Input[str], ...] = (), opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:okd:Installer", name, None, opts)
        self.args = args
        self.triggers = install_triggers(args)
        fetch_env = {"EAF_RELEASE": args.release, "EAF_INSTALLER_URL": args.installer_url,
                     "EAF_INSTALLER_SHA256": args.installer_sha256, "EAF_INSTALLER_CACHE": args.installer_cache,
                     "EAF_WORK_DIR": args.work_dir}
        if args.installer_path:
            fetch_env["EAF_INSTALLER_PATH"] = args.installer_path
        # Re-fetching is cheap and cached, so it may run on any change; it is replaced only for another release.
        self.fetch = step_command(f"{name}-fetch-installer", Step(
            create="fetch-installer", update="fetch-installer", environment=fetch_env,
            triggers=[args.release, args.installer_sha256], redact=redact), parent=self)
        # The generated manifests are inputs but no triggers: a change of them (say new NTP servers) runs the
        # update (keep), and reaches the running nodes through the node-settings app's MachineConfigs.
        manifests_env = {"EAF_WORK_DIR": args.work_dir, "EAF_CLUSTER_DOMAIN": args.cluster_domain,
                         "EAF_MASTERS_SCHEDULABLE": "true" if args.masters_schedulable else "false"}
        if args.openshift_manifests:
            manifests_env["EAF_OPENSHIFT_MANIFESTS"] = json.dumps(dict(args.openshift_manifests), sort_keys=True)
        if args.extra_manifests:
            manifests_env["EAF_EXTRA_MANIFESTS"] = args.extra_manifests
        self.manifests = step_command(f"{name}-create-manifests", Step(
            create="create-manifests", update="keep", environment=manifests_env, triggers=self.triggers,
            stdin=install_config_text, redact=redact), parent=self, depends_on=[self.fetch])
        # Its update re-reads the files it made: the same Ignition, no new certificates.
        self.ignition_configs = step_command(f"{name}-create-ignition-configs", Step(
            create="create-ignition-configs", update="read-ignition-configs",
            environment={"EAF_WORK_DIR": args.work_dir, "EAF_CLUSTER_DOMAIN": args.cluster_domain},
            triggers=self.triggers, secret_stdout=True, redact=redact),
            parent=self, depends_on=[self.manifests])
        self.bundle = pulumi.Output.secret(self.ignition_configs.stdout.apply(json.loads))
        self.register_outputs({"workDir": args.work_dir, "release": args.release})

    def file(self, name: str) -> pulumi.Output[str]:
        """One of the installer's files (bootstrap.ign, master.ign, auth/kubeconfig, ...), secret."""
        return self.bundle.apply(lambda files: files[name])

    def pointer(self, role: str) -> pulumi.Output[str]:
        """master.ign / worker.ign: a pointer to the machine-config server plus the cluster's root CA certificate,
        which is public by design, so they are handed on as plain (non-secret) values."""
        return pulumi.Output.unsecret(self.file(f"{role}.ign"))


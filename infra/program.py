"""Compose the stages of one stack: spec -> OKD assets -> Ignition -> machines -> OKD bring-up -> apps."""

from __future__ import annotations

import gc
import hashlib
import importlib
from collections.abc import Mapping

import pulumi

from infra import stages
from infra.catalog import versions_document
from infra.paths import PROJECT_DIR
from infra.plan.site import site_records
from infra.secrets import read_secrets
from infra.spec.load import load_spec
from infra.stack_config import engine_config, engine_secret_keys


def _digests(configs: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[dict[str, str]]:
    """sha256 of every node's Ignition: shows in the preview which nodes' configs change, and lets the local stack's
    probe prove each VM booted with exactly its own. A digest reveals nothing, so it is exported in the clear."""
    texts = pulumi.Output.all(**{name: pulumi.Output.from_input(text) for name, text in configs.items()})
    digests = texts.apply(
        lambda by_node: {n: hashlib.sha256(t.encode()).hexdigest() for n, t in sorted(by_node.items())}
    )
    return pulumi.Output.unsecret(digests)


# What an evaluation of a stack with the native libvirt backend imports besides this module: the stages and the
# libraries they import when they run (each module imports its own lazily, so the CLI tools stay light).
# prepare_process loads them before the collector is tuned; tests/test_program_imports.py proves the list
# complete.
EVALUATION_MODULES = (
    "cryptography.hazmat.primitives.serialization", "cryptography.x509", "jinja2", "pulumi_kubernetes",
    "pulumi_kubernetes.helm.v4",
    "ignition", "ignition.render", "infra.apps.credentials", "infra.apps.deploy", "infra.libvirt",
    "infra.libvirt.native.backend", "infra.okd", "infra.okd.bootstrap_retirement", "infra.okd.bring_up_steps",
    "infra.okd.cluster_settings", "infra.okd.install_config", "infra.okd.installer", "infra.plan.shared_hosts",
    "infra.spec.siblings",
)


def prepare_process() -> None:
    """Load what the evaluation uses, then tune the collector for it: the objects loaded so far (modules, classes)
    live as long as the process, so they leave the collector's view; and a collection waits for many new objects.
    An evaluation makes tens of thousands of short-lived Outputs and futures that reference counting frees, and
    scanning them again and again made the evaluation grow faster than its resources (40 % of the time at 800
    workers)."""
    for module in EVALUATION_MODULES:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def main() -> None:
    stack = pulumi.get_stack()
    # Validation first: a bad config raises here, before a single resource is registered.
    loaded = load_spec(stack, engine_config(), PROJECT_DIR, secret_keys=engine_secret_keys())
    if loaded.spec.existing_cluster is not None:  # apps only, onto a cluster the stack does not build
        from infra.existing_cluster import deploy_onto_existing_cluster

        deploy_onto_existing_cluster(loaded)
        return
    secrets = read_secrets()
    from infra.okd.bootstrap_retirement import retire_completed_bootstrap

    # The bootstrap VM goes once the stack's state records bootstrap-complete for this install (auto removal).
    loaded = retire_completed_bootstrap(loaded, stages.install_input(loaded))

    # Each stage imports its own libraries only when it runs (pulumi_kubernetes, libvirt, ...): fast evaluation.
    from ignition import node_configs
    from infra.apps.credentials import AppCredentials
    from infra.apps.deploy import deploy_apps, plan_apps
    from infra.libvirt import create_machines
    from infra.okd import prepare_install

    # Every app's objects are built and checked before anything is registered, too.
    apps = plan_apps(stages.apps_input(loaded), AppCredentials())
    install = prepare_install(stages.install_input(loaded), secrets)
    ignition_configs = node_configs(stages.ignition_input(loaded), secrets.ssh_public_keys, install.assets)
    machines = create_machines(stages.machines_input(loaded), ignition_configs)
    access = install.bring_up(machines)
    deploy_apps(apps, access)
    if access is not None:  # None when the stack does not install OKD (local)
        pulumi.export("apiUrl", access.api_url)
        pulumi.export("consoleUrl", access.console_url)
        pulumi.export("kubeconfig", pulumi.Output.secret(access.kubeconfig))
        pulumi.export("kubeadminPassword", pulumi.Output.secret(access.kubeadmin_password))
        pulumi.export("okdVersion", access.okd_version)
        if access.bootstrap is not None:
            pulumi.export("okdBootstrap", access.bootstrap)

    pulumi.export("ignitionSha256", _digests(ignition_configs))
    pulumi.export("pins", versions_document())
    pulumi.export("okdRelease", loaded.okd_release)
    pulumi.export("osImage", loaded.os_image.name)
    pulumi.export("placement", loaded.plan.placement_table())
    if loaded.plan.network.mode == "bridge":
        pulumi.export("siteNetworkRecords", site_records(loaded.plan))
    pulumi.log.info(f"stack {stack}: {len(loaded.plan.nodes)} VMs on {len(loaded.plan.hosts)} host(s)\n"
                    + loaded.plan.placement_table())

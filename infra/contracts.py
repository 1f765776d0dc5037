"""What the stages hand each other. Typed, so no layer reaches into another's internals or a shared dict.

spec/plan (infra.spec, infra.plan)
  -> InstallAssets   (infra.okd.prepare_install: OKD's Ignition from openshift-install, or MCS pointers)
  -> node Ignition   (ignition.node_configs: {node name: Ignition JSON text})
  -> Machines        (infra.libvirt.create_machines: networks, pools, volumes, domains on every host)
  -> ClusterAccess   (infra.okd.bring_up: bootstrap-complete, CSRs, install-complete; None when install is off)
  -> apps            (infra.apps.deploy_apps)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class InstallAssets:
    """OKD's Ignition inputs for the node configs. Texts are Ignition JSON documents (spec 3.2.0)."""

    master_pointer: pulumi.Input[str]
    worker_pointer: pulumi.Input[str]
    bootstrap: pulumi.Input[str] | None  # OKD's bootstrap.ign (holds the pull secret: a secret Output)
    depends_on: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class Machines:
    """The machine layer's result, whichever libvirt backend made it."""

    domains: dict[str, pulumi.Resource]  # node name -> its VM (domain) resource
    networks: dict[str, pulumi.Resource]  # host name -> the cluster network on that host
    components: tuple[pulumi.ComponentResource, ...] = ()
    exports: dict[str, pulumi.Input[object]] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach the installed cluster."""

    api_url: pulumi.Input[str]
    console_url: pulumi.Input[str]
    kubeconfig: pulumi.Output[str]  # secret
    kubeadmin_password: pulumi.Output[str]  # secret
    okd_version: str
    ready: tuple[pulumi.Resource, ...] = ()  # what apps must wait for (install-complete)

"""NVIDIA GPU operator + Node Feature Discovery through OLM, MIG layouts per GPU worker (mixed strategy).

OKD's only catalog (community-operators) has neither operator: their subscriptions name the catalogs the stack adds
as CatalogSources from pinned index images (versions.yaml apps.catalogs; docs/gpu-on-okd.md). No precompiled driver
exists for OKD's nodes, so the ClusterPolicy has the driver compiled on each node with the Driver Toolkit.

The MIG manager reads the named layouts from our mig-parted ConfigMap (built from infra/data/mig-layouts.yaml) and
cuts each node's GPUs as its `nvidia.com/mig.config` label says. The labels are set here, with one server-side-apply
`NodePatch` per GPU worker after install-complete: the plan knows which node gets which layout, the patch touches
only that label (field manager: pulumi), and changing the layout in the stack file re-cuts the node on the next up.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import Field

from infra.apps import objects as o
from infra.apps.alert_rules import prometheus_rules
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.apps.olm import catalog_sources, operator_manifests
from infra.catalog import mig_catalogue
from infra.plan import mig
from infra.plan.model import ClusterPlan
from infra.spec.apps import AppSettings
from infra.spec.base import DnsLabel
from infra.spec.errors import Problem

APP = "nvidia-gpu-operator"
MIG_CONFIG = "eaf-mig-parted-config"
MIG_LABEL = "nvidia.com/mig.config"
NO_MIG = "all-disabled"


class GpuOperatorSettings(AppSettings):
    namespace: DnsLabel = "nvidia-gpu-operator"
    nfd_namespace: DnsLabel = "openshift-nfd"
    node_name: Literal["fqdn", "hostname"] = Field(
        "hostname", description="how GPU workers' Node objects are named: ignition/node.py writes the short hostname "
                                "to /etc/hostname, and the kubelet registers under it")
    install_plan_approval: Literal["Manual", "Automatic"] = Field(
        "Manual", description="Manual: only the pinned CSV is ever installed (approved by the program's Job)")


def gpu_nodes(plan: ClusterPlan | None) -> tuple:
    return plan.with_flag(gpus=True) if plan is not None else ()


def offered_mig_slices(plan: ClusterPlan | None) -> dict[str, int]:
    """MIG profile -> how many slices of it the stack's GPU workers offer in total."""
    offered: dict[str, int] = {}
    for node in gpu_nodes(plan):
        if node.mig_layout is None:
            continue
        for profile, count in mig.node_instances(node.mig_layout, mig_catalogue(), len(node.gpus)).items():
            offered[profile] = offered.get(profile, 0) + count
    return dict(sorted(offered.items()))


def unoffered_slice_fix(offered: dict[str, int]) -> str:
    """The fix for a MIG profile no GPU worker is cut into, worded for what the stack does offer."""
    if offered:
        return f"use one of: {', '.join(offered)}"
    return ("cut the GPU workers into MIG slices: set eaf:nodes.gpuWorkers.migLayout (or a node's: "
            "eaf:nodes.gpuWorkers.nodes.<node>.migLayout) to a layout of infra/data/mig-layouts.yaml, or drop the MIG "
            "profile")


def node_layouts(settings: GpuOperatorSettings, plan: ClusterPlan) -> dict[str, str]:
    """Kubernetes node name -> the MIG layout its GPUs are cut into (all-disabled: whole GPUs)."""
    layouts = {}
    for node in gpu_nodes(plan):
        name = node.fqdn if settings.node_name == "fqdn" else node.hostname
        layouts[name] = node.mig_layout or NO_MIG
    return dict(sorted(layouts.items()))


def mig_parted_config(layouts: set[str]) -> str:
    """mig-parted's config file: every layout the stack's nodes use, plus all-disabled. A layout with one cut per
    GPU becomes one entry per distinct cut, naming the GPU indexes it applies to."""
    catalogue = mig_catalogue()
    configs: dict[str, Any] = {NO_MIG: [{"devices": "all", "mig-enabled": False}]}
    for name in sorted(layouts - {NO_MIG}):
        layout = catalogue.layouts[name]
        if layout.per_gpu is not None:
            configs[name] = [{"devices": "all", "mig-enabled": True, "mig-devices": mig.instances_per_gpu(layout, 0)}]
            continue
        entries: list[dict[str, Any]] = []
        for index in range(len(layout.gpus or ())):
            cut = mig.instances_per_gpu(layout, index)
            same = next((e for e in entries if e["mig-devices"] == cut), None)
            if same is None:
                entries.append({"devices": [index], "mig-enabled": True, "mig-devices": cut})
            else:
                same["devices"].append(index)
        configs[name] = entries
    return yaml.safe_dump({"version": "v1", "mig-configs": configs}, sort_keys=True)


def cluster_policy(monitoring: bool) -> dict[str, Any]:
    return {
        "apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
        "metadata": o.metadata("gpu-cluster-policy", None, APP, "cluster-policy"),
        "spec": {
            # No precompiled driver exists for OKD's nodes: the driver is compiled on each node, against the
            # kernel packages of the release's Driver Toolkit image (image stream openshift/driver-toolkit).
            "operator": {"defaultRuntime": "crio", "use_ocp_driver_toolkit": True},
            "daemonsets": {"updateStrategy": "RollingUpdate"},
            "driver": {"enabled": True, "usePrecompiled": False},
            "toolkit": {"enabled": True},
            "devicePlugin": {"enabled": True},
            "dcgm": {"enabled": True},
            "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": monitoring}},
            "gfd": {"enabled": True},
            "nodeStatusExporter": {"enabled": True},
            # Mixed: each slice size is its own resource (nvidia.com/mig-1g.10gb, -2g.20gb, -3g.40gb).
            "mig": {"strategy": "mixed"},
            "migManager": {"enabled": True, "config": {"name": MIG_CONFIG, "default": NO_MIG}},
        },
    }


def build(context: AppContext) -> AppBuild:
    """Namespaces, OLM subscriptions and the MIG config, then the operators' custom resources, then node labels."""
    settings: GpuOperatorSettings = context.apps.gpu_operator
    assert context.plan is not None
    gpu_ns, nfd_ns = settings.namespace, settings.nfd_namespace
    monitored = {o.CLUSTER_MONITORING_LABEL: "true"}
    layouts = node_layouts(settings, context.plan)
    approval = settings.install_plan_approval
    groups = (
        ObjectGroup("namespaces", [o.namespace(nfd_ns, "node-feature-discovery", monitored),
                                   o.namespace(gpu_ns, APP, monitored)]),
        # OKD ships only the community catalog, which has neither operator: the stack adds their catalogs.
        ObjectGroup("olm", [*catalog_sources(["nfd", "gpu-operator"], APP),
                            *operator_manifests("nfd", nfd_ns, "node-feature-discovery", approval),
                            *operator_manifests("gpu-operator", gpu_ns, APP, approval)]),
        ObjectGroup("config", [{"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": o.metadata(MIG_CONFIG, gpu_ns, APP, "mig"),
                                "data": {"config.yaml": mig_parted_config(set(layouts.values()))}},
                               *(prometheus_rules("gpu_operator", gpu_ns, APP) if context.apps.monitoring.enabled
                                 else [])]),
        ObjectGroup("custom", [
            {"apiVersion": "nfd.openshift.io/v1", "kind": "NodeFeatureDiscovery",
             "metadata": o.metadata("nfd-instance", nfd_ns, "node-feature-discovery", "nfd"),
             "spec": {"operand": {"servicePort": 12000}}},
            cluster_policy(context.apps.monitoring.enabled),
        ], after=("olm", "config")),
        ObjectGroup("node-labels", [{"apiVersion": "v1", "kind": "Node",
                                     "metadata": {"name": name, "labels": {MIG_LABEL: layout}}}
                                    for name, layout in layouts.items()], after=("custom",), patch=True),
    )
    return AppBuild(groups, outputs={"migLayouts": layouts})


def problems(context: AppContext) -> list[Problem]:
    if context.plan is not None and not gpu_nodes(context.plan):
        return [Problem("eaf:apps.gpuOperator.enabled", True, "the stack has no GPU workers",
                        "turn it off, or add eaf:nodes.gpuWorkers")]
    return []


DEFINITION = AppDefinition(
    key="gpu_operator", settings=GpuOperatorSettings, description="NVIDIA GPU operator + NFD, MIG per node",
    component="GpuOperator", build=build, problems=problems)

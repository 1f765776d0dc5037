"""NVIDIA GPU operator + Node Feature Discovery through OLM, MIG layouts per GPU worker (mixed strategy).

The MIG manager reads the named layouts from our mig-parted ConfigMap (built from infra/data/mig-layouts.yaml) and
cuts each node's GPUs as its `nvidia.com/mig.config` label says. The labels are set here, with one server-side-apply
`NodePatch` per GPU worker after install-complete: the plan knows which node gets which layout, the patch touches
only that label (field manager: pulumi), and changing the layout in the stack file re-cuts the node on the next up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from infra.apps import objects as o
from infra.apps.kube import Kube, register
from infra.apps.olm import operator_manifests
from infra.catalog import mig_data
from infra.plan import mig
from infra.plan.model import ClusterPlan, Role
from infra.spec import apps as spec

APP = "nvidia-gpu-operator"
MIG_CONFIG = "eaf-mig-parted-config"
MIG_LABEL = "nvidia.com/mig.config"
NO_MIG = "all-disabled"


@dataclass(frozen=True)
class GpuOperatorArgs:
    settings: spec.GpuOperator
    plan: ClusterPlan
    monitoring: bool


def node_layouts(args: GpuOperatorArgs) -> dict[str, str]:
    """Kubernetes node name -> the MIG layout its GPUs are cut into (all-disabled: whole GPUs)."""
    layouts = {}
    for node in args.plan.by_role(Role.GPU_WORKER):
        name = node.fqdn if args.settings.node_name == "fqdn" else node.hostname
        layouts[name] = node.mig_layout or NO_MIG
    return dict(sorted(layouts.items()))


def mig_parted_config(layouts: set[str]) -> str:
    """mig-parted's config file: every layout the stack's nodes use, plus all-disabled."""
    configs: dict[str, Any] = {NO_MIG: [{"devices": "all", "mig-enabled": False}]}
    for name in sorted(layouts - {NO_MIG}):
        configs[name] = [{"devices": "all", "mig-enabled": True,
                          "mig-devices": mig.instances_per_gpu(name, mig_data())}]
    return yaml.safe_dump({"version": "v1", "mig-configs": configs}, sort_keys=True)


def cluster_policy(monitoring: bool) -> dict[str, Any]:
    return {
        "apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
        "metadata": o.metadata("gpu-cluster-policy", None, APP, "cluster-policy"),
        "spec": {
            # OKD: drivers are built with the cluster's Driver Toolkit image for the exact node kernel.
            "operator": {"defaultRuntime": "crio", "use_ocp_driver_toolkit": True},
            "daemonsets": {"updateStrategy": "RollingUpdate"},
            "driver": {"enabled": True},
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


def manifests(args: GpuOperatorArgs) -> dict[str, list[dict[str, Any]]]:
    """Objects in apply order: namespaces, OLM subscriptions, then the operators' custom resources, node labels."""
    settings = args.settings
    gpu_ns, nfd_ns = settings.namespace, settings.nfd_namespace
    # Platform Prometheus scrapes the DCGM exporter only in namespaces labelled for cluster monitoring.
    monitored = {o.CLUSTER_MONITORING_LABEL: "true"}
    layouts = node_layouts(args)
    return {
        "namespaces": [o.namespace(nfd_ns, "node-feature-discovery", monitored), o.namespace(gpu_ns, APP, monitored)],
        "olm": [*operator_manifests("nfd", nfd_ns, "node-feature-discovery", settings.install_plan_approval),
                *operator_manifests("gpu-operator", gpu_ns, APP, settings.install_plan_approval)],
        "config": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": o.metadata(MIG_CONFIG, gpu_ns, APP, "mig"),
                    "data": {"config.yaml": mig_parted_config(set(layouts.values()))}}],
        "custom": [
            {"apiVersion": "nfd.openshift.io/v1", "kind": "NodeFeatureDiscovery",
             "metadata": o.metadata("nfd-instance", nfd_ns, "node-feature-discovery", "nfd"),
             "spec": {"operand": {"servicePort": 12000}}},
            cluster_policy(args.monitoring),
        ],
        "node_labels": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {MIG_LABEL: layout}}}
                        for name, layout in layouts.items()],
    }


class GpuOperator(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuOperatorArgs, kube: Kube, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eaf:apps:GpuOperator", name, None, opts)
        groups = manifests(args)
        namespaces = {m["metadata"]["name"]: register(m, kube, self) for m in groups["namespaces"]}
        olm = [register(m, kube, self, [namespaces[m["metadata"]["namespace"]]]) for m in groups["olm"]]
        config = [register(m, kube, self, [namespaces[m["metadata"]["namespace"]]]) for m in groups["config"]]
        # The operators' kinds exist once their CSVs are installed: after the approver Jobs (or Subscriptions).
        custom = [register(m, kube, self, [*olm, *config, *self._own_namespace(m, namespaces)])
                  for m in groups["custom"]]
        self.node_labels = [register(m, kube, self, custom, patch=True) for m in groups["node_labels"]]
        self.objects = [*namespaces.values(), *olm, *config, *custom, *self.node_labels]
        self.register_outputs({"migLayouts": node_layouts(args)})

    @staticmethod
    def _own_namespace(manifest: dict[str, Any], namespaces: dict[str, pulumi.Resource]) -> list[pulumi.Resource]:
        namespace = manifest["metadata"].get("namespace")
        return [namespaces[namespace]] if namespace in namespaces else []

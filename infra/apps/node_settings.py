"""What the stack sets on the cluster's nodes once they have joined: the worker pools' labels and taints, and the
MachineConfigs of ignition/machine_configs.py (chrony), so a change reaches running nodes without a new install.

On by default wherever the stack reaches a cluster; `eaf:apps.nodeSettings.enabled: false` leaves nodes alone.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ignition.machine_configs import chrony_machine_configs
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup
from infra.plan.model import ClusterPlan
from infra.spec.apps import AppSettings


class NodeSettingsSettings(AppSettings):
    enabled: bool = Field(True, description="set the pools' labels and taints and the nodes' MachineConfigs")


def node_patches(plan: ClusterPlan) -> list[dict[str, Any]]:
    """One server-side-apply patch per node whose pool has labels or taints (Node objects are the cluster's)."""
    patches = []
    for node in plan.nodes:
        if not node.labels and not node.taints:
            continue
        metadata: dict[str, Any] = {"name": node.hostname}
        if node.labels:
            metadata["labels"] = dict(node.labels)
        manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": metadata}
        if node.taints:
            manifest["spec"] = {"taints": [{"key": k, "value": v, "effect": e} for k, v, e in node.taints]}
        patches.append(manifest)
    return patches


def build(context: AppContext) -> AppBuild:
    assert context.plan is not None
    return AppBuild((ObjectGroup("machine-configs", chrony_machine_configs(context.plan)),
                     ObjectGroup("node-patches", node_patches(context.plan), patch=True)))


DEFINITION = AppDefinition(key="node_settings", settings=NodeSettingsSettings,
                           description="the worker pools' node labels and taints, and the nodes' MachineConfigs",
                           component="NodeSettings", build=build, uses_credentials=False)

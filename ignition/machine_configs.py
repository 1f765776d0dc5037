"""MachineConfigs the stack gives the cluster's own nodes: today chrony's config from the site's time servers.

The same objects go into the install's manifests (so the first boot already keeps time: certificates and etcd need
it) and are applied to the running cluster by the node-settings app (so a change rolls out through the
machine-config operator, with no new install).
"""

from __future__ import annotations

from typing import Any

from ignition.document import MODE_PUBLIC, text_data_url
from ignition.node import CHRONY_CONF, chrony_config
from infra.plan.model import ClusterPlan

ROLE_LABEL = "machineconfiguration.openshift.io/role"
MACHINE_CONFIG_ROLES = ("master", "worker")
IGNITION_VERSION = "3.2.0"  # what the machine-config operator of the pinned releases reads


def chrony_machine_configs(plan: ClusterPlan) -> list[dict[str, Any]]:
    """One MachineConfig per machine-config pool; none when the stack names no NTP servers."""
    text = chrony_config(plan.network)
    if text is None:
        return []
    return [{
        "apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
        "metadata": {"name": f"99-{role}-eaf-chrony", "labels": {ROLE_LABEL: role}},
        "spec": {"config": {"ignition": {"version": IGNITION_VERSION}, "storage": {"files": [{
            "path": CHRONY_CONF, "mode": MODE_PUBLIC, "overwrite": True,
            "contents": {"source": text_data_url(text)}}]}}},
    } for role in MACHINE_CONFIG_ROLES]

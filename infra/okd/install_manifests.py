"""The manifests the program adds to the install's openshift/ dir at create-manifests, generated from the plan.

Today the nodes' chrony MachineConfigs (ignition/machine_configs.py): the cluster's first boot already keeps time
from the site's servers (certificates and etcd need it). They are install inputs but no triggers: after the install
the node-settings app (infra/apps/node_settings.py) applies the same objects, so a change reaches the running nodes
through the machine-config operator and never re-runs the install.
"""

from __future__ import annotations

from typing import Any

import yaml

from infra.contracts import InstallInput


def manifest_text(manifest: dict[str, Any]) -> str:
    """One manifest as YAML, parsed back before it is handed on: what the installer reads is what was built."""
    text = yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)
    if yaml.safe_load(text) != manifest:
        raise ValueError(f"{manifest['kind']} {manifest['metadata']['name']} does not survive a YAML round trip")
    return text


def install_manifests(install: InstallInput) -> dict[str, str]:
    """File name (in openshift/) -> YAML."""
    from ignition.machine_configs import chrony_machine_configs

    return {f"{m['metadata']['name']}.yaml": manifest_text(m) for m in chrony_machine_configs(install.plan)}

"""Plain-value rendering: one node's Ignition JSON text from the plan, OKD's configs and the SSH keys.

No Pulumi here, so `python -m infra render` and the tests call it directly; `ignition.node_configs` lifts it over
Outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ignition.bootstrap import bootstrap_config
from ignition.document import canonical_json, ignition_document
from ignition.gpu import KERNEL_ARGUMENTS_SPEC, gpu_kernel_arguments
from ignition.load_balancer import load_balancer_parts
from ignition.node import node_files, node_users
from ignition.pointer import merged_pointer_config
from infra.catalog import versions
from infra.plan.model import PlannedNode, Role
from infra.spec.load import LoadedStack


@dataclass(frozen=True)
class OkdConfigs:
    """OKD's Ignition texts as plain strings: role pointers, and bootstrap.ign (None when the install is off)."""

    master_pointer: str
    worker_pointer: str
    bootstrap: str | None


def spec_version() -> str:
    """OKD's own configs are this version (pinned in infra/data/versions.yaml `tools.ignition-spec`)."""
    return str(versions()["tools"]["ignition-spec"])


def render_node(loaded: LoadedStack, node: PlannedNode, okd: OkdConfigs, ssh_keys: Sequence[str]) -> str:
    files = tuple(node_files(node, loaded.plan.network, loaded.stack))
    users = tuple(node_users(ssh_keys))
    version = spec_version()
    if node.role is Role.CONTROLLER:
        document = merged_pointer_config(version, okd.master_pointer, "master", files, users)
    elif node.role is Role.WORKER:
        document = merged_pointer_config(version, okd.worker_pointer, "worker", files, users)
    elif node.role is Role.GPU_WORKER:
        document = merged_pointer_config(KERNEL_ARGUMENTS_SPEC, okd.worker_pointer, "worker", files, users,
                                         kernel_arguments=gpu_kernel_arguments())
    elif node.role is Role.BOOTSTRAP:
        document = bootstrap_config(okd.bootstrap, version, files, users)
    elif node.role is Role.LOAD_BALANCER:
        lb_files, lb_units = load_balancer_parts(loaded)
        document = ignition_document(version, files=files + lb_files, units=lb_units, users=users)
    else:  # a new role must decide what it boots
        raise ValueError(f"{loaded.stack}: node {node.name} has role {node.role}, which has no Ignition")
    return canonical_json(document)


def render_stack(loaded: LoadedStack, okd: OkdConfigs, ssh_keys: Sequence[str]) -> dict[str, str]:
    """Every node's Ignition text, by node name, in plan order."""
    return {node.name: render_node(loaded, node, okd, ssh_keys) for node in loaded.plan.nodes}

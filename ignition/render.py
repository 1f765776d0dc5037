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
from ignition.image_pull import image_pull_files
from ignition.load_balancer import load_balancer_parts
from ignition.node import node_files, node_users
from ignition.pointer import merged_pointer_config
from infra.contracts import IgnitionInput
from infra.plan.model import PlannedNode
from infra.plan.roles import role_info


@dataclass(frozen=True)
class OkdConfigs:
    """OKD's Ignition texts as plain strings: role pointers, and bootstrap.ign (None when the install is off)."""

    master_pointer: str
    worker_pointer: str
    bootstrap: str | None


def _document(args: IgnitionInput, node: PlannedNode, okd: OkdConfigs, files: tuple, users: tuple) -> dict:
    """What the node boots, as the role table says (`boots`)."""
    info = role_info(node.role)
    version = args.spec_version
    if info.boots == "master-pointer":
        return merged_pointer_config(version, okd.master_pointer, "master", files, users)
    if info.boots == "worker-pointer" and info.gpus:
        return merged_pointer_config(KERNEL_ARGUMENTS_SPEC, okd.worker_pointer, "worker", files, users,
                                     kernel_arguments=gpu_kernel_arguments())
    if info.boots == "worker-pointer":
        return merged_pointer_config(version, okd.worker_pointer, "worker", files, users)
    if info.boots == "bootstrap":
        return bootstrap_config(okd.bootstrap, version, files, users)
    lb_files, lb_units = load_balancer_parts(args, node)
    pull_files = image_pull_files(args.image_pull, args.plan.domain)  # the site's mirrors, proxy, CA for podman
    return ignition_document(version, files=files + lb_files + pull_files, units=lb_units, users=users)


def render_node(args: IgnitionInput, node: PlannedNode, okd: OkdConfigs, ssh_keys: Sequence[str]) -> str:
    files = tuple(node_files(node, args.plan.network))
    users = tuple(node_users(ssh_keys))
    return canonical_json(_document(args, node, okd, files, users))


def render_stack(args: IgnitionInput, okd: OkdConfigs, ssh_keys: Sequence[str]) -> dict[str, str]:
    """Every node's Ignition text, by node name, in plan order."""
    return {node.name: render_node(args, node, okd, ssh_keys) for node in args.plan.nodes}

"""A stack's identity for the policies: its cluster role comes from its stack file (layered over its baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.spec.layering import stack_cluster
from policy.records import StackInfo


def stack_role(stack: str, project_dir: Path) -> str | None:
    """`eaf:cluster.role` of the stack (active/spare/dev/local), from Pulumi.<stack>.yaml and its baseline."""
    return stack_cluster(project_dir, stack).get("role")


def stack_info(stack: str, project_dir: Path, outputs: Mapping[str, Any] | None = None,
               secret_outputs: frozenset[str] = frozenset()) -> StackInfo:
    return StackInfo(stack, stack_role(stack, project_dir), dict(outputs or {}), frozenset(secret_outputs))

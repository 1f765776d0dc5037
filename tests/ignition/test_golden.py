"""One node per role renders byte-for-byte as its reviewed golden file (regenerate: see golden_files.py)."""

from __future__ import annotations

import pytest

from infra.plan.model import Role
from tests.ignition.golden_files import GOLDEN_NODES, GOLDEN_STACK, golden_path, rendered
from tests.ignition.support import loaded_stack


def test_golden_nodes_cover_every_role():
    roles = {loaded_stack(GOLDEN_STACK).plan.node(node).role.value for node in GOLDEN_NODES.values()}
    assert roles == {role.value for role in Role}, f"{GOLDEN_STACK}: golden files cover {sorted(roles)}"


@pytest.mark.parametrize("role", sorted(GOLDEN_NODES))
def test_node_config_matches_its_golden_file(role):
    node = GOLDEN_NODES[role]
    path = golden_path(node)
    assert path.is_file(), f"{path} is missing: .venv/bin/python -m tests.ignition.golden_files"
    assert rendered(node) == path.read_text(encoding="utf-8"), (
        f"{GOLDEN_STACK}/{node} ({role}) differs from {path}; if the change is intended, regenerate with "
        ".venv/bin/python -m tests.ignition.golden_files and review the diff"
    )

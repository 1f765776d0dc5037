"""The golden Ignition files: one node per role of the dev stack, rendered with the OKD fixtures.

Regenerate after an intended change, then review the diff (`git diff tests/ignition/golden`):
    .venv/bin/python -m tests.ignition.golden_files
"""

from __future__ import annotations

from pathlib import Path

from ignition.render import render_node
from infra.stages import ignition_input
from tests.ignition.support import SSH_KEYS, loaded_stack, okd_fixture_configs

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_STACK = "dev"
# role -> the node of that role whose config is kept
GOLDEN_NODES = {"load-balancer": "lb-0", "bootstrap": "bootstrap", "controller": "ctrl-0", "worker": "worker-0",
                "gpu-worker": "gpu-0"}


def golden_path(node: str) -> Path:
    return GOLDEN_DIR / f"{GOLDEN_STACK}-{node}.ign"


def rendered(node: str) -> str:
    loaded = loaded_stack(GOLDEN_STACK)
    return render_node(ignition_input(loaded), loaded.plan.node(node), okd_fixture_configs(), SSH_KEYS)


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for node in GOLDEN_NODES.values():
        golden_path(node).write_text(rendered(node), encoding="utf-8")
        print(f"wrote {golden_path(node)}")


if __name__ == "__main__":
    main()

"""Which stacks a merge request previews, from its changed files (infra/ops/affected_stacks.py)."""

from __future__ import annotations

from pathlib import Path

from infra.ops.affected_stacks import affected_stacks, deployable_stacks
from infra.paths import PROJECT_DIR

ALL_DEPLOYABLE = ("dev", "prod-a", "prod-b")


def test_deployable_stacks_are_dev_and_both_prod_clusters() -> None:
    # Not the baseline Pulumi.prod.yaml (layer: baseline), not local (role: local).
    assert deployable_stacks(PROJECT_DIR) == ALL_DEPLOYABLE


def test_a_stack_file_touches_only_its_stack() -> None:
    assert affected_stacks(["Pulumi.dev.yaml"], PROJECT_DIR) == ("dev",)
    assert affected_stacks(["Pulumi.prod-b.yaml"], PROJECT_DIR) == ("prod-b",)


def test_the_prod_baseline_touches_both_prod_clusters() -> None:
    assert affected_stacks(["Pulumi.prod.yaml"], PROJECT_DIR) == ("prod-a", "prod-b")


def test_program_files_touch_every_deployable_stack() -> None:
    for changed in ("infra/libvirt/layer.py", "ignition/node.py", "__main__.py", "Pulumi.yaml",
                    "requirements.txt", "requirements.lock", "infra/data/versions.yaml", "policy/rules.py"):
        assert affected_stacks([changed], PROJECT_DIR) == ALL_DEPLOYABLE, changed


def test_docs_tests_and_scripts_touch_no_stack() -> None:
    changed = ["docs/migration.md", "tests/ops/test_migrate.py", "scripts/test.sh", ".gitlab-ci.yml", "README.md",
               "tests/infra/thing.py", "sub/Pulumi.dev.yaml"]
    assert affected_stacks(changed, PROJECT_DIR) == ()


def test_the_local_stack_is_not_previewed_in_ci() -> None:
    assert affected_stacks(["Pulumi.local.yaml"], PROJECT_DIR) == ()


def test_stacks_come_out_in_stack_order_without_repeats() -> None:
    changed = ["Pulumi.prod-b.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.prod-a.yaml"]
    assert affected_stacks(changed, PROJECT_DIR) == ALL_DEPLOYABLE


def test_a_new_stack_file_is_found_without_code_changes(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: eaf\nruntime: python\n", encoding="utf-8")
    (tmp_path / "Pulumi.base.yaml").write_text("config:\n  eaf:layer: baseline\n", encoding="utf-8")
    (tmp_path / "Pulumi.site-c.yaml").write_text(
        "config:\n  eaf:baseline: base\n  eaf:cluster: {name: c, role: active}\n", encoding="utf-8")
    (tmp_path / "Pulumi.lab.yaml").write_text("config:\n  eaf:cluster: {name: lab, role: local}\n", encoding="utf-8")
    assert deployable_stacks(tmp_path) == ("site-c",)
    assert affected_stacks(["Pulumi.base.yaml"], tmp_path) == ("site-c",)

"""The program's guard: a shared stack on a shared backend, no sandbox passphrase outside local, and every update of
a shared stack from a fresh checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.ops.state_guard import check_engine_run, render
from infra.paths import PROJECT_DIR
from tests.state.checkpoint_files import export_document, write_checkpoint

SHARED = "postgres://eaf_state@db.example:5432/eaf_state?sslmode=verify-full"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _check(stack: str, env: dict, dry_run: bool = True) -> list:
    return check_engine_run(stack, env, dry_run, PROJECT_DIR, now=lambda: NOW)


def _paths(problems) -> list[str]:
    return [p.path for p in problems]


def test_a_prod_stack_on_a_local_folder_is_refused_with_how_to_set_the_shared_backend(tmp_path):
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": f"file://{tmp_path}"})
    assert problem.path == "PULUMI_BACKEND_URL" and "file://" in problem.value
    assert "would plan a fresh build" in problem.why
    assert "export PULUMI_BACKEND_URL='postgres://eaf_state@<state db host>:5432/eaf_state" in problem.fix


def test_dev_needs_the_shared_backend_too(tmp_path):
    assert _paths(_check("dev", {"PULUMI_BACKEND_URL": f"file://{tmp_path}"})) == ["PULUMI_BACKEND_URL"]


def test_a_backend_only_the_cli_can_read_counts_as_not_shared(tmp_path):
    (tmp_path / "credentials.json").write_bytes(b"\x00encrypted")
    [problem] = _check("prod-a", {"PULUMI_HOME": str(tmp_path)})
    assert "(unknown)" in problem.value and "only the CLI can read" in problem.value


def test_a_prod_preview_on_the_shared_backend_passes():
    assert _check("prod-b", {"PULUMI_BACKEND_URL": SHARED}) == []


def test_the_backend_password_is_never_shown(tmp_path):
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": "file:///x?password=hunter2"})
    assert "hunter2" not in render("prod-b", [problem])


def test_the_local_stack_may_keep_its_state_in_a_folder(tmp_path):
    assert _check("local", {"PULUMI_BACKEND_URL": f"file://{tmp_path}", "PULUMI_CONFIG_PASSPHRASE": "x"},
                  dry_run=False) == []


def test_the_sandbox_passphrase_is_refused_for_a_prod_stack():
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": SHARED, "PULUMI_CONFIG_PASSPHRASE": "eaf-local-sandbox"})
    assert problem.path == "PULUMI_CONFIG_PASSPHRASE" and "EAF_PASSPHRASE_PROD_B" in problem.fix


def test_the_sandbox_passphrase_in_a_passphrase_file_is_refused_too(tmp_path):
    (tmp_path / "passphrase").write_text("eaf-local-sandbox\n")
    env = {"PULUMI_BACKEND_URL": SHARED, "PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "passphrase")}
    assert _paths(_check("dev", env)) == ["PULUMI_CONFIG_PASSPHRASE"]


def test_an_update_of_a_prod_stack_without_a_checkpoint_is_sent_to_python_m_infra_up():
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": SHARED}, dry_run=False)
    assert problem.path == "EAF_CHECKPOINT" and "python -m infra up --stack prod-b" in problem.fix


def test_an_update_from_a_fresh_checkpoint_of_the_stack_passes(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "prod-b", NOW - timedelta(minutes=5))
    assert _check("prod-b", {"PULUMI_BACKEND_URL": SHARED, "EAF_CHECKPOINT": str(checkpoint)}, dry_run=False) == []


def test_a_stale_checkpoint_is_refused(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "prod-b", NOW - timedelta(days=2))
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": SHARED, "EAF_CHECKPOINT": str(checkpoint)}, dry_run=False)
    assert "from the last 240 minutes" in problem.why


def test_a_checkpoint_of_another_stack_is_refused(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "prod-b", NOW, export_document("prod-a"))
    [problem] = _check("prod-b", {"PULUMI_BACKEND_URL": SHARED, "EAF_CHECKPOINT": str(checkpoint)}, dry_run=False)
    assert "not a checkpoint of stack prod-b" in problem.why and "prod-a" in problem.why


def test_a_stack_missing_from_state_yaml_is_refused():
    [problem] = _check("qa", {"PULUMI_BACKEND_URL": SHARED})
    assert problem.path == "infra/data/state.yaml: stacks"


def test_the_baseline_is_left_to_the_programs_own_refusal(tmp_path):
    assert _check("prod", {"PULUMI_BACKEND_URL": f"file://{tmp_path}"}, dry_run=False) == []


def test_all_problems_are_reported_at_once(tmp_path):
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path}", "PULUMI_CONFIG_PASSPHRASE": "eaf-local-sandbox"}
    problems = _check("prod-a", env, dry_run=False)
    assert _paths(problems) == ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "EAF_CHECKPOINT"]
    assert render("prod-a", problems).startswith("stack 'prod-a': 3 state/secrets problem(s); nothing was created")

"""`python -m infra up`: the stack's own passphrase to the engine only, every check before anything runs, and a
checkpoint named to the program."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from infra.ops.checkpoints import CheckpointStore
from infra.ops.guarded_up import RunRefused, engine_environment, prepare_up
from infra.ops.state_policy import load_policy
from infra.paths import PROJECT_DIR
from tests.state.salts import TEAM_SALT
from tests.state.test_checkpoints import RecordingPulumi

POLICY = load_policy()
SHARED = "postgres://eaf_state@db.example:5432/eaf_state?sslmode=verify-full"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _project(tmp_path: Path, salt: str | None = TEAM_SALT) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project)
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod-b.yaml").read_text())
    if salt:
        document["encryptionsalt"] = salt
    (project / "Pulumi.prod-b.yaml").write_text(yaml.safe_dump(document))
    return project


def _prepare(tmp_path: Path, env: dict, salt: str | None = TEAM_SALT, pulumi: RecordingPulumi | None = None):
    pulumi = pulumi or RecordingPulumi()
    store = CheckpointStore(tmp_path / "checkpoints", POLICY.checkpoints.keep)
    return prepare_up("prod-b", env, _project(tmp_path, salt), POLICY, store, lambda _env: pulumi, lambda: NOW)


def test_the_stacks_own_variable_becomes_the_engines_passphrase_for_that_run_only():
    env = {"EAF_PASSPHRASE_PROD_B": "b-secret", "PULUMI_CONFIG_PASSPHRASE_FILE": "/elsewhere"}
    child, problems = engine_environment(POLICY.stack("prod-b"), env, POLICY)
    assert problems == []
    assert child["PULUMI_CONFIG_PASSPHRASE"] == "b-secret" and "PULUMI_CONFIG_PASSPHRASE_FILE" not in child
    assert env == {"EAF_PASSPHRASE_PROD_B": "b-secret", "PULUMI_CONFIG_PASSPHRASE_FILE": "/elsewhere"}


def test_another_stacks_variable_is_not_used():
    _child, [problem] = engine_environment(POLICY.stack("prod-b"), {"EAF_PASSPHRASE_PROD_A": "a"}, POLICY)
    assert problem.path == "EAF_PASSPHRASE_PROD_B"


def test_the_local_stack_gets_the_sandbox_passphrase_whatever_the_caller_exported():
    child, problems = engine_environment(POLICY.stack("local"), {"PULUMI_CONFIG_PASSPHRASE": "prod"}, POLICY)
    assert problems == [] and child["PULUMI_CONFIG_PASSPHRASE"] == POLICY.sandbox_passphrase


def test_a_prod_up_exports_a_checkpoint_and_names_it_to_the_program(tmp_path):
    pulumi = RecordingPulumi()
    prepared = _prepare(tmp_path, {"PULUMI_BACKEND_URL": SHARED, "EAF_PASSPHRASE_PROD_B": "b"}, pulumi=pulumi)
    assert prepared.checkpoint.parent == tmp_path / "checkpoints" / "prod-b" and prepared.checkpoint.is_file()
    assert prepared.env["EAF_CHECKPOINT"] == str(prepared.checkpoint)
    assert prepared.env["PULUMI_CONFIG_PASSPHRASE"] == "b"
    assert [c[:2] for c in pulumi.calls] == [["stack", "export"]]


def test_a_prod_up_on_a_local_folder_is_refused_with_every_problem_and_exports_nothing(tmp_path):
    pulumi = RecordingPulumi()
    with pytest.raises(RunRefused) as refused:
        _prepare(tmp_path, {"PULUMI_BACKEND_URL": f"file://{tmp_path}"}, salt=None, pulumi=pulumi)
    message = str(refused.value)
    for named in ("EAF_PASSPHRASE_PROD_B", "PULUMI_BACKEND_URL", "encryptionsalt"):
        assert named in message
    assert pulumi.calls == [] and not (tmp_path / "checkpoints").exists()


def test_a_prod_stack_file_under_the_sandbox_passphrase_is_refused_before_the_up(tmp_path):
    local_salt = yaml.safe_load((PROJECT_DIR / "Pulumi.local.yaml").read_text())["encryptionsalt"]
    with pytest.raises(RunRefused, match="public sandbox passphrase"):
        _prepare(tmp_path, {"PULUMI_BACKEND_URL": SHARED, "EAF_PASSPHRASE_PROD_B": "b"}, salt=local_salt)


def test_the_baseline_is_not_deployable(tmp_path):
    store = CheckpointStore(tmp_path, 3)
    with pytest.raises(RunRefused, match="baseline"):
        prepare_up("prod", {}, PROJECT_DIR, POLICY, store, lambda _env: RecordingPulumi(), lambda: NOW)

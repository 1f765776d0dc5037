"""The prod-a -> prod-b migration (infra/ops/migrate.py).

Dry-run tests need nothing. The `real` tests run the migration with the real engine through the Automation API on a
throw-away project holding copies of the real prod stack files (tests/ops/migration_project.py), with local data
folders and a zone file as the DNS switch; they FAIL with what is missing when the engine is not built.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from infra.cli import main as cli
from infra.ops.datasync import LocalDirectory
from infra.ops.migrate import Migration, load_migration_data, run
from infra.ops.stack_ops import AutomationStackOps
from infra.ops.traffic import ManualDnsSwitch, ZoneFileSwitch
from infra.paths import PROJECT_DIR
from tests.ops.migration_project import STACK_FILES, engine_env, make_project, missing_engine

SOURCE_FILES = {
    "jupyterhub/hub-db/jupyterhub.sqlite": b"SQLite format 3\x00" + b"\x07" * 4096,
    "jupyterhub/claim-alice/analysis.ipynb": b'{"cells": []}\n',
    "jupyterhub/claim-bob/.bashrc": b"export PS1='$ '\n",
}
OLD_SPARE_FILE = ("jupyterhub/claim-bob/.bashrc", b"# prod-b's copy from the last migration\n")


def _data(root: Path) -> tuple[Path, Path, Path]:
    source, destination, zone = root / "prod-a-data", root / "prod-b-data", root / "eaf-services.zone"
    for relative, content in SOURCE_FILES.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(content)
    (destination / OLD_SPARE_FILE[0]).parent.mkdir(parents=True, exist_ok=True)
    (destination / OLD_SPARE_FILE[0]).write_bytes(OLD_SPARE_FILE[1])
    ZoneFileSwitch(zone).point({"jupyter.eaf.fnal.gov": "jupyter.apps.eaf-prod-a.fnal.gov",
                                "grafana.eaf.fnal.gov": "grafana.apps.eaf-prod-a.fnal.gov"})
    return source, destination, zone


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _args(project: Path, work: Path, source: Path, destination: Path, zone: Path, *extra: str) -> list[str]:
    return ["migrate", "--id", "m1", "--project-dir", str(project), "--journal-dir", str(work / "journal"),
            "--from-data", str(source), "--to-data", str(destination), "--dns-zone-file", str(zone), *extra]


def _role(project: Path, stack: str) -> str:
    from infra.ops.migrate import stack_cluster

    return stack_cluster(project, stack)["role"]


# ---- dry run: no engine needed -----------------------------------------------------------------------------------

@pytest.fixture
def offline_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in STACK_FILES:
        (project / name).write_bytes((PROJECT_DIR / name).read_bytes())
    return project


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path, offline_project: Path, capsys) -> None:
    source, destination, zone = _data(tmp_path)
    before = _snapshot(tmp_path)
    assert cli(_args(offline_project, tmp_path, source, destination, zone)) == 0
    out = capsys.readouterr().out
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "journal").exists()
    assert "migration m1: prod-a (active) -> prod-b (spare)" in out
    assert "1. [todo] bring-up-spare  pulumi up -s prod-b" in out
    assert "jupyter.eaf.fnal.gov -> jupyter.apps.eaf-prod-b.fnal.gov" in out
    assert out.rstrip().endswith("dry run: nothing was changed. Add --execute to act.")


def test_dry_run_never_starts_the_engine(tmp_path: Path, offline_project: Path) -> None:
    source, destination, zone = _data(tmp_path)

    def no_engine():
        raise AssertionError("a dry run asked for the engine")

    migration = Migration("m1", offline_project, "prod-a", "prod-b", load_migration_data(), LocalDirectory(source),
                          LocalDirectory(destination), ZoneFileSwitch(zone), tmp_path / "journal", no_engine,
                          say=lambda _line: None)
    assert run(migration, execute=False) == 0


def test_execute_without_data_folders_is_refused(offline_project: Path, tmp_path: Path, capsys) -> None:
    code = cli(["migrate", "--id", "m1", "--execute", "--project-dir", str(offline_project),
                "--journal-dir", str(tmp_path / "journal")])
    assert code == 2
    assert "--execute needs --from-data and --to-data" in capsys.readouterr().err


MIGRATION_MODULES = ("migrate", "datasync", "stack_ops", "traffic", "journal")
DELETING_CALLS = {"unlink", "rmtree", "rmdir", "remove", "removedirs", "destroy", "remove_stack", "delete",
                  "preview_destroy", "remove_config", "remove_all_config"}


@pytest.mark.parametrize("module", MIGRATION_MODULES)
def test_no_migration_code_calls_anything_that_deletes(module: str) -> None:
    source = (PROJECT_DIR / "infra" / "ops" / f"{module}.py").read_text(encoding="utf-8")
    calls = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
             for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)}
    assert not calls & DELETING_CALLS, f"infra/ops/{module}.py calls {sorted(calls & DELETING_CALLS)}"


# ---- real engine --------------------------------------------------------------------------------------------------

@pytest.fixture
def engine_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    missing = missing_engine()
    if missing:
        pytest.fail(missing)
    env = engine_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return make_project(tmp_path, env)


@pytest.mark.real
@pytest.mark.slow
def test_execute_moves_production_to_the_spare(tmp_path: Path, engine_project: Path, capsys) -> None:
    source, destination, zone = _data(tmp_path)
    source_before = _snapshot(source)
    assert cli(_args(engine_project, tmp_path, source, destination, zone, "--execute")) == 0, capsys.readouterr().out
    for relative, content in SOURCE_FILES.items():
        assert (destination / relative).read_bytes() == content, relative
    assert (destination / f"{OLD_SPARE_FILE[0]}.eaf-kept-m1").read_bytes() == OLD_SPARE_FILE[1]
    assert _snapshot(source) == source_before  # the active side is only read
    assert ZoneFileSwitch(zone).records() == {f"{name}.eaf.fnal.gov": f"{name}.apps.eaf-prod-b.fnal.gov"
                                              for name in ("jupyter", "grafana", "keycloak", "mlflow")}
    assert (_role(engine_project, "prod-a"), _role(engine_project, "prod-b")) == ("spare", "active")
    # `config set --path` changed one value: the stack file keeps its comments and layout.
    first_lines = (PROJECT_DIR / "Pulumi.prod-a.yaml").read_text(encoding="utf-8").splitlines()[:2]
    assert (engine_project / "Pulumi.prod-a.yaml").read_text(encoding="utf-8").splitlines()[:2] == first_lines
    journal = json.loads((tmp_path / "journal" / "m1.json").read_text(encoding="utf-8"))
    assert set(journal["steps"]) == {"bring-up-spare", "sync-data", "switch-active", "verify", "cold-spare"}
    assert journal["steps"]["bring-up-spare"]["result"]["changes"] == {"create": 1}
    # The spare's `up` started from a checkpoint of its state, as every up of a shared stack does.
    assert len(list((engine_project / ".work" / "checkpoints" / "prod-b").glob("prod-b-*.json"))) == 1
    assert journal["steps"]["verify"]["result"]["filesChecked"] == 3
    assert journal["steps"]["cold-spare"]["result"]["resourcesKept"] >= 1
    manifest = (tmp_path / "journal" / "m1" / "user-homes.sha256").read_text(encoding="utf-8")
    assert "  jupyterhub/claim-bob/.bashrc\n" in manifest


@pytest.mark.real
@pytest.mark.slow
def test_an_interrupted_run_resumes_and_skips_finished_steps(tmp_path: Path, engine_project: Path, capsys) -> None:
    source, destination, zone = _data(tmp_path)
    # First run: the spare comes up, then the copy fails: the active side's volume is not mounted yet.
    (source / "jupyterhub").rename(tmp_path / "jupyterhub-not-mounted")
    assert cli(_args(engine_project, tmp_path, source, destination, zone, "--execute")) == 1
    first = capsys.readouterr().out
    assert "2. sync-data: FAILED: local directory" in first, first
    journal = json.loads((tmp_path / "journal" / "m1.json").read_text(encoding="utf-8"))
    assert list(journal["steps"]) == ["bring-up-spare"]
    up_finished = journal["steps"]["bring-up-spare"]["finished"]

    (tmp_path / "jupyterhub-not-mounted").rename(source / "jupyterhub")
    assert cli(_args(engine_project, tmp_path, source, destination, zone, "--execute")) == 0
    second = capsys.readouterr().out
    assert f"1. bring-up-spare: done before ({up_finished}), skipped" in second, second
    from pulumi import automation as auto

    history = auto.select_stack("prod-b", work_dir=str(engine_project)).history()
    assert [entry.kind for entry in history] == ["update"], "the spare was brought up more than once"


@pytest.mark.real
@pytest.mark.slow
def test_a_rerun_with_other_inputs_is_refused(tmp_path: Path, engine_project: Path, capsys) -> None:
    source, destination, zone = _data(tmp_path)
    (source / "jupyterhub").rename(tmp_path / "jupyterhub-not-mounted")
    assert cli(_args(engine_project, tmp_path, source, destination, zone, "--execute")) == 1
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    assert cli(_args(engine_project, tmp_path, source, elsewhere, zone, "--execute")) == 2
    out = capsys.readouterr().out
    assert "migration m1 was started with other inputs (destination: was 'local directory" in out, out


@pytest.mark.real
@pytest.mark.slow
def test_a_copy_damaged_while_dns_waits_fails_verification(tmp_path: Path, engine_project: Path) -> None:
    source, destination, _zone = _data(tmp_path)
    resolved = {"target": "jupyter.apps.eaf-prod-a.fnal.gov"}
    said: list[str] = []

    def resolver(name: str):
        return (resolved["target"].replace("jupyter", name.split(".")[0]), [], ["192.0.2.1"])

    def migration() -> Migration:
        return Migration("m1", engine_project, "prod-a", "prod-b", load_migration_data(), LocalDirectory(source),
                         LocalDirectory(destination), ManualDnsSwitch(resolve=resolver), tmp_path / "journal",
                         lambda: AutomationStackOps(engine_project, on_output=said.append), say=said.append)

    assert run(migration(), execute=True) == 3  # waiting for the DNS administrators
    assert any("jupyter.eaf.fnal.gov. IN CNAME jupyter.apps.eaf-prod-b.fnal.gov." in line for line in said), said
    assert (_role(engine_project, "prod-a"), _role(engine_project, "prod-b")) == ("spare", "active")

    (destination / "jupyterhub/hub-db/jupyterhub.sqlite").write_bytes(b"damaged while waiting\n")
    resolved["target"] = "jupyter.apps.eaf-prod-b.fnal.gov"  # the DNS change is done
    said.clear()
    assert run(migration(), execute=True) == 1
    failure = next(line for line in said if "verify: FAILED" in line)
    assert "dataset hub-db: jupyterhub/hub-db/jupyterhub.sqlite at local directory" in failure, failure
    journal = json.loads((tmp_path / "journal" / "m1.json").read_text(encoding="utf-8"))
    assert set(journal["steps"]) == {"bring-up-spare", "sync-data", "switch-active"}


"""A throw-away Pulumi project with the real prod stack files, for running the migration with the real engine.

Its program only exports what the migration reads (apiUrl) from the stack's `eaf:cluster`; the stacks live on a
file:// backend in the test's tmp dir. The stack files are copies of the repo's, so the role switch edits files
shaped exactly like Pulumi.prod-a.yaml and Pulumi.prod-b.yaml (comments included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.paths import PROJECT_DIR
from tests.support.engine import TOOLS_BIN, missing_engine  # noqa: F401 - missing_engine used by test_migrate
from tests.support.engine import engine_env as shared_engine_env

STACK_FILES = ("Pulumi.prod.yaml", "Pulumi.prod-a.yaml", "Pulumi.prod-b.yaml")

PROGRAM = """\
import pulumi

cluster = pulumi.Config("eaf").require_object("cluster")
pulumi.export("apiUrl", f"https://api.{cluster['name']}.fnal.gov:6443")
pulumi.export("role", cluster["role"])
"""


def engine_env(work: Path) -> dict[str, str]:
    """What scripts/env.sh gives, with state and home private to the test."""
    return shared_engine_env(work, "migration-test")


def make_project(work: Path, env: dict[str, str]) -> Path:
    """The project with stacks prod-a (up, active) and prod-b (initialised, never up: the spare to bring up)."""
    project = work / "project"
    project.mkdir(parents=True)
    (work / "state").mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    for name in STACK_FILES:
        shutil.copy(PROJECT_DIR / name, project / name)
    full_env = {**os.environ, **env}
    for stack in ("prod-a", "prod-b"):
        subprocess.run(["pulumi", "--non-interactive", "stack", "init", stack], cwd=project, env=full_env,
                       check=True, capture_output=True)
    subprocess.run(["pulumi", "--non-interactive", "up", "--yes", "-s", "prod-a"], cwd=project, env=full_env,
                   check=True, capture_output=True)
    return project

"""`python -m infra affected-stacks`: one stack a line, for the CI job's loop."""

from __future__ import annotations

import subprocess
import sys

from infra.paths import PROJECT_DIR


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra", "affected-stacks", *args], cwd=PROJECT_DIR, input=stdin,
                          capture_output=True, text=True, check=False)


def test_cli_prints_one_stack_a_line_from_arguments() -> None:
    completed = _cli("Pulumi.prod.yaml", "docs/migration.md")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["prod-a", "prod-b"]


def test_cli_reads_changed_files_from_stdin() -> None:
    completed = _cli(stdin="Pulumi.dev.yaml\nREADME.md\n")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["dev"]


def test_cli_reports_a_bad_git_base() -> None:
    completed = _cli("--base", "no-such-revision-0000")
    assert completed.returncode == 2
    assert "git diff --name-only no-such-revision-0000...HEAD failed" in completed.stderr

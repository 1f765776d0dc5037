"""`python -m infra preview-summary STACK=FILE ...`: what the preview job posts to the merge request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.paths import PROJECT_DIR

FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "preview"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra", "preview-summary", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, check=False)


def test_cli_writes_one_comment_for_several_stacks(tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    completed = _cli(f"prod-a={FIXTURES / 'recorded-changes.json'}",
                     f"prod-b={FIXTURES / 'recorded-no-changes.json'}", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert out.read_text(encoding="utf-8") == completed.stdout
    assert completed.stdout.startswith("## Pulumi preview\n")
    assert "### Stack `prod-a`: 2 to create, 3 to update, 2 to replace, 2 to delete" in completed.stdout
    assert "### Stack `prod-b`: no changes" in completed.stdout


def test_cli_rejects_an_argument_without_a_stack() -> None:
    completed = _cli(str(FIXTURES / "recorded-changes.json"))
    assert completed.returncode == 2
    assert "expected STACK=FILE" in completed.stderr


def test_cli_names_a_file_that_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "dev.json"
    bad.write_text("error: no stack named 'dev'\n", encoding="utf-8")
    completed = _cli(f"dev={bad}")
    assert completed.returncode == 2
    assert f"{bad}: not JSON" in completed.stderr

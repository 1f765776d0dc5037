"""Smoke test of the real Pulumi engine in .tools/bin (built by scripts/bootstrap-engine.sh).

A throw-away Python project with one dynamic-provider resource goes through the plain CLI lifecycle
(stack init, up, preview --expect-no-changes, destroy) on a file:// backend in a pytest tmp dir. The lifecycle
runs once per module; each test checks one thing it recorded, so a failure names the step that broke.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.engine import TOOLS_BIN, VENV_BIN, engine_env, missing_engine

pytestmark = pytest.mark.real  # the Pulumi engine built from Go modules (.tools/bin)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The CLI plus the Python language host and the dynamic-provider shim it needs.
PROVIDER_MODULE = Path(__file__).with_name("file_resource_provider.py")
STACK = "smoke"
FILE_CONTENT = "managed by the engine smoke test\n"
# A slow engine is a finding, but a hung one must not stall the suite.
STEP_TIMEOUT_S = 300

PROGRAM = """\
import pulumi

from file_resource_provider import ManagedFile

managed = ManagedFile("smoke-file", path={path!r}, content={content!r})
pulumi.export("managed_path", managed.path)
pulumi.export("greeting", "hello from the engine")
"""


@dataclass
class StepResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (
            f"`{' '.join(self.args)}` exited {self.returncode} after {self.seconds:.1f} s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


@dataclass
class Lifecycle:
    """What each step of the lifecycle returned and what was on disk in between."""

    managed_file: Path
    # Why the lifecycle could not start (a missing tool); every test then fails with this message.
    missing: str | None = None
    steps: dict[str, StepResult] = field(default_factory=dict)
    file_after_up: str | None = None
    outputs: dict[str, object] | None = None
    file_exists_after_destroy: bool | None = None

    def step(self, name: str) -> StepResult:
        """The named step, failing the calling test when it did not run or did not succeed."""
        if self.missing is not None:
            pytest.fail(self.missing)
        if name not in self.steps:
            ran = ", ".join(self.steps) or "none"
            pytest.fail(f"step {name!r} did not run; steps that ran: {ran}; last: {self._last()}")
        result = self.steps[name]
        if result.returncode != 0:
            pytest.fail(f"step {name!r} failed: {result.describe()}")
        return result

    def _last(self) -> str:
        if not self.steps:
            return "-"
        return list(self.steps.values())[-1].describe()


def _engine_env(work: Path) -> dict[str, str]:
    return engine_env(work, "engine-smoke-test")


def _write_project(project: Path, managed_file: Path) -> None:
    project.mkdir()
    # No `virtualenv` runtime option: the language host built here (sdk v3.52.0) only reads it from a command-line
    # flag the current CLI no longer passes, so the venv is found through PATH (as scripts/env.sh sets it).
    (project / "Pulumi.yaml").write_text(
        "name: eaf-engine-smoke\n"
        "description: throw-away project of tests/engine/test_engine_smoke.py\n"
        "runtime: python\n",
        encoding="utf-8",
    )
    (project / "__main__.py").write_text(PROGRAM.format(path=str(managed_file), content=FILE_CONTENT), encoding="utf-8")
    # Next to __main__.py so both the program and the dynamic-provider process can import it.
    shutil.copy(PROVIDER_MODULE, project / PROVIDER_MODULE.name)


def _run(lifecycle: Lifecycle, name: str, args: list[str], project: Path, env: dict[str, str]) -> bool:
    started = time.monotonic()
    try:
        completed = subprocess.run(
            args, cwd=project, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as timeout:
        # Recorded like a failed step so the tests name the hung step instead of erroring in the fixture.
        # The partial output arrives as bytes even with text=True.
        partial = timeout.stdout or b""
        stdout = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        lifecycle.steps[name] = StepResult(
            args, -1, stdout, f"timed out after {STEP_TIMEOUT_S} s", time.monotonic() - started
        )
        return False
    lifecycle.steps[name] = StepResult(
        args, completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started
    )
    return completed.returncode == 0


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Lifecycle:
    pulumi = TOOLS_BIN / "pulumi"
    work = tmp_path_factory.mktemp("engine-smoke")
    result = Lifecycle(managed_file=work / "managed.txt")
    # Reported through each test (a FAIL naming the fix), not as a fixture error.
    result.missing = missing_engine()
    if result.missing:
        return result
    if not (VENV_BIN / "python").exists():
        result.missing = f"{VENV_BIN / 'python'} is missing: create the project venv (scripts/setup-venv.sh)"
        return result

    project = work / "project"
    _write_project(project, result.managed_file)
    env = _engine_env(work)
    (work / "state").mkdir()

    cli = [str(pulumi), "--non-interactive"]
    if not _run(result, "stack init", [*cli, "stack", "init", STACK], project, env):
        return result
    if not _run(result, "up", [*cli, "up", "--yes", "--stack", STACK], project, env):
        return result
    if result.managed_file.exists():
        result.file_after_up = result.managed_file.read_text(encoding="utf-8")
    if _run(result, "stack output", [*cli, "stack", "output", "--json", "--stack", STACK], project, env):
        result.outputs = json.loads(result.steps["stack output"].stdout)
    _run(result, "preview", [*cli, "preview", "--expect-no-changes", "--stack", STACK], project, env)
    if _run(result, "destroy", [*cli, "destroy", "--yes", "--stack", STACK], project, env):
        result.file_exists_after_destroy = result.managed_file.exists()
    # Timings are part of what this test measures; `pytest -s` or `-rA` shows them.
    print("engine smoke step times: " + ", ".join(f"{k} {v.seconds:.1f} s" for k, v in result.steps.items()))
    return result


def test_up_creates_the_dynamic_provider_file(lifecycle: Lifecycle) -> None:
    lifecycle.step("up")
    assert lifecycle.file_after_up == FILE_CONTENT


def test_up_exports_the_stack_outputs(lifecycle: Lifecycle) -> None:
    lifecycle.step("stack output")
    assert lifecycle.outputs == {
        "greeting": "hello from the engine",
        "managed_path": str(lifecycle.managed_file),
    }


def test_preview_after_up_expects_no_changes(lifecycle: Lifecycle) -> None:
    # --expect-no-changes makes any pending change a non-zero exit, which step() turns into a failure.
    preview = lifecycle.step("preview")
    assert "2 unchanged" in preview.stdout, preview.describe()


def test_destroy_deletes_the_dynamic_provider_file(lifecycle: Lifecycle) -> None:
    lifecycle.step("destroy")
    assert lifecycle.file_exists_after_destroy is False

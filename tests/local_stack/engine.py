"""Drive the real Pulumi CLI on a private copy of the project, the way users type the commands."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.ops.state_policy import load_policy
from tests.harness import PROJECT_DIR
from tests.support.engine import missing_engine
from tests.support.project_copy import copy_program

# What the program needs to evaluate; the copy keeps the tier's `pulumi config set` away from the repo's files.
LOCAL_PASSPHRASE = load_policy().sandbox_passphrase  # infra/data/state.yaml: the local stack's sandbox secrets


def missing_engine_or_probe() -> str | None:
    problem = missing_engine()
    if problem:
        return problem
    if not (PROJECT_DIR / ".work" / "probe" / "SHA256SUMS").exists():
        return ".work/probe is missing: run scripts/build-probe-image.sh"
    return None


@dataclass
class ProjectCopy:
    root: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, step: str | None = None, check: bool = True, timeout: float = 900.0
            ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if step:
            self.timings[step] = time.monotonic() - started
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout[-6000:]}"
                                 f"\n--- stderr\n{done.stderr[-6000:]}")
        return done

    def pulumi(self, *args: str, step: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("pulumi", *args, "--stack", "local", "--non-interactive", step=step, check=check)

    def preview_json(self, step: str) -> dict:
        done = self.pulumi("preview", "--json", step=step)
        return json.loads(done.stdout)


def make_copy(target: Path) -> ProjectCopy:
    copy_program(target, extra=("Pulumi.local.yaml",))
    (target / ".work").mkdir()
    (target / ".work" / "probe").symlink_to(PROJECT_DIR / ".work" / "probe")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        PATH=f"{PROJECT_DIR / '.tools' / 'bin'}:{PROJECT_DIR / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        PULUMI_BACKEND_URL=f"file://{target / '.work' / 'state'}",
        PULUMI_HOME=str(PROJECT_DIR / ".work" / "pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE=LOCAL_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    (target / ".work" / "state").mkdir()
    return ProjectCopy(target, env)


def steps(preview: dict) -> list[dict]:
    return [s for s in preview.get("steps", []) if s.get("op") != "same"]


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]

"""The merge-request preview job reads the shared backend as its read-only role and never changes state."""

from __future__ import annotations

import re

import yaml

from infra.paths import PROJECT_DIR

PIPELINE = yaml.safe_load((PROJECT_DIR / ".gitlab-ci.yml").read_text())
SCRIPT = "\n".join(PIPELINE["preview"]["script"])


def test_the_backend_is_the_read_only_role_set_before_env_sh_can_default_it():
    backend = SCRIPT.index('export PULUMI_BACKEND_URL="${EAF_STATE_PREVIEW_URL:?')
    password = SCRIPT.index('export PGPASSWORD="${EAF_STATE_PREVIEW_PASSWORD:?')
    assert backend < SCRIPT.index("source scripts/env.sh") and password < SCRIPT.index("source scripts/env.sh")


def test_the_job_runs_no_command_that_writes_state():
    commands = set(re.findall(r"\bpulumi ([a-z]+(?: [a-z]+)?)", SCRIPT))
    assert commands and all(c.startswith("preview") for c in commands), commands
    for writing in ("pulumi up", "pulumi destroy", "pulumi refresh", "pulumi stack import", "pulumi cancel",
                    "infra up"):
        assert writing not in SCRIPT

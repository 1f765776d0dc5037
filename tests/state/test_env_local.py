"""scripts/env-local.sh: the sandbox passphrase reaches only a command that names the local stack.

`pulumi` here is a stand-in on PATH that prints the passphrase it was given, so the shell function's choice is
observed from outside; the real CLI with the function is what scripts/up-local.sh runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from infra.ops.state_policy import load_policy
from infra.paths import PROJECT_DIR

ENV_LOCAL = PROJECT_DIR / "scripts" / "env-local.sh"


def _bash(tmp_path: Path, script: str, exported: str | None = None) -> str:
    stand_in = tmp_path / "bin" / "pulumi"
    stand_in.parent.mkdir(exist_ok=True)
    stand_in.write_text('#!/bin/sh\necho "passphrase=${PULUMI_CONFIG_PASSPHRASE-<unset>}"\n')
    stand_in.chmod(0o755)
    env = {"PATH": f"{stand_in.parent}:/usr/bin:/bin"}
    if exported is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = exported
    done = subprocess.run(["bash", "-c", f"source {ENV_LOCAL}\n{script}"], env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def test_it_hands_out_the_sandbox_passphrase_state_yaml_names():
    script = ENV_LOCAL.read_text()
    assert re.search(r'^EAF_LOCAL_SANDBOX_PASSPHRASE="([^"]+)"$', script, re.M).group(1) == \
        load_policy().sandbox_passphrase


def test_sourcing_exports_no_passphrase(tmp_path):
    assert _bash(tmp_path, 'echo "${PULUMI_CONFIG_PASSPHRASE-<unset>}"') == "<unset>"


def test_sourcing_takes_back_a_sandbox_passphrase_an_older_version_exported(tmp_path):
    assert _bash(tmp_path, 'echo "${PULUMI_CONFIG_PASSPHRASE-<unset>}"', exported="eaf-local-sandbox") == "<unset>"


def test_sourcing_keeps_a_passphrase_of_the_callers_own(tmp_path):
    assert _bash(tmp_path, "pulumi up -s prod-b", exported="team-secret") == "passphrase=team-secret"


@pytest.mark.parametrize("args", ["up -s local", "up --stack local --yes", "preview --stack=local", "up -slocal",
                                  "up -s prod-b -s local", "stack init --stack organization/eaf/local"])
def test_a_command_naming_the_local_stack_gets_the_sandbox_passphrase(tmp_path, args):
    assert _bash(tmp_path, f"pulumi {args}") == "passphrase=eaf-local-sandbox"


@pytest.mark.parametrize("args", ["up -s prod-b", "stack init prod-b", "stack init local-copy", "up",
                                  "up -s local -s dev", "config set --secret x y"])
def test_any_other_command_gets_no_passphrase(tmp_path, args):
    assert _bash(tmp_path, f"pulumi {args}") == "passphrase=<unset>"


def test_the_passphrase_does_not_stay_in_the_shell_after_a_local_command(tmp_path):
    out = _bash(tmp_path, 'pulumi up -s local >/dev/null; echo "${PULUMI_CONFIG_PASSPHRASE-<unset>}"')
    assert out == "<unset>"

"""`python -m infra up` and `python -m infra checkpoint` from the command line (refusals need no engine)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from infra.paths import PROJECT_DIR
from tests.state.checkpoint_files import write_checkpoint


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "EAF_"))}
    return subprocess.run([sys.executable, "-m", "infra", *args], cwd=PROJECT_DIR, env={**base, **(env or {})},
                          capture_output=True, text=True, check=False)


def test_a_prod_up_on_a_local_folder_is_refused_before_pulumi_starts(tmp_path):
    done = _cli("up", "--stack", "prod-b", "--yes", "--checkpoint-dir", str(tmp_path / "checkpoints"),
                env={"PULUMI_BACKEND_URL": f"file://{tmp_path}", "PATH": "/usr/bin:/bin"})  # no pulumi on PATH
    assert done.returncode == 2
    assert "infra up: stack 'prod-b'" in done.stderr and "PULUMI_BACKEND_URL" in done.stderr
    assert not (tmp_path / "checkpoints").exists()


def test_the_stack_is_given_once(tmp_path):
    done = _cli("up", "--stack", "local", "--yes", "--stack=prod-b")
    assert done.returncode == 2 and "give the stack once" in done.stderr


def test_commands_that_do_not_pass_options_on_still_refuse_unknown_ones():
    done = _cli("preflight", "--stack", "local", "--no-such-option")
    assert done.returncode == 2 and "unrecognized arguments: --no-such-option" in done.stderr


def test_checkpoint_list_shows_each_checkpoint_with_its_resource_count(tmp_path):
    first = write_checkpoint(tmp_path, "prod-b", datetime(2026, 12, 1, 10, tzinfo=UTC))
    second = write_checkpoint(tmp_path, "prod-b", datetime(2026, 12, 1, 11, tzinfo=UTC))
    done = _cli("checkpoint", "list", "--stack", "prod-b", "--checkpoint-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{first}  2 resources", f"{second}  2 resources"]


def test_checkpoint_restore_needs_the_stacks_passphrase(tmp_path):
    checkpoint = write_checkpoint(tmp_path, "prod-b", datetime(2026, 12, 1, 10, tzinfo=UTC))
    done = _cli("checkpoint", "restore", "--stack", "prod-b", "--file", str(checkpoint),
                "--checkpoint-dir", str(tmp_path))
    assert done.returncode == 2 and "EAF_PASSPHRASE_PROD_B" in done.stderr

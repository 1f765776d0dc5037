"""Under the real engine a bad config prints our message as it is: no traceback, no secret value, and a secret set
without --secret is told apart from one set with it (the engine's secret keys reach the program).

A throw-away project whose program is infra.program.main (the stack guard of __main__.py is left out: it wants a
shared backend for dev/prod only, and this stack is neither), on a file:// backend in a pytest tmp dir.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness import TEST_SECRETS
from tests.support.engine import TOOLS_BIN, engine_env, missing_engine

pytestmark = pytest.mark.real  # the Pulumi engine built from Go modules (.tools/bin)

STACK = "eaf-h8-bad"
PLAIN_PULL_SECRET = '{"auths":{"registry.example.org":{"auth":"cm9ib3Q6cGxhaW4tdGV4dC1lbmdpbmUtdGVzdA=="}}}'


def _pulumi(work: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOLS_BIN / "pulumi"), *args, "--non-interactive"], cwd=work / "project", env=env,
                          input=stdin, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def preview(tmp_path_factory) -> subprocess.CompletedProcess:
    missing = missing_engine()
    if missing:
        pytest.fail(missing)
    work = tmp_path_factory.mktemp("engine-config-error")
    project = work / "project"
    project.mkdir()
    (work / "state").mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf\nruntime: python\n")
    (project / "__main__.py").write_text("from infra.program import main\n\nmain()\n")
    env = engine_env(work, "eaf-h8-throwaway", import_project=True)
    for args, stdin in (
        (("stack", "init", STACK), None),
        (("config", "set", "--secret", "eaf:sshPublicKeys", "-s", STACK), TEST_SECRETS["sshPublicKeys"]),
        (("config", "set", "--plaintext", "eaf:pullSecret", "-s", STACK), PLAIN_PULL_SECRET),  # as typed by hand
        (("config", "set", "eaf:nodes", "workers: 3", "-s", STACK), None),
    ):
        done = _pulumi(work, env, *args, stdin=stdin)
        assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return _pulumi(work, env, "preview", "-s", STACK)


def test_the_preview_fails_with_our_message_and_no_traceback(preview):
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0, output
    assert f"stack '{STACK}'" in output and "nothing was created or changed" in output, output
    assert "eaf:nodes = 'workers: 3'" in output and "is text, not a mapping of settings" in output, output
    assert "Traceback" not in output and "unhandled exception" not in output, output


def test_a_secret_set_without_secret_is_refused_and_never_printed(preview):
    output = preview.stdout + preview.stderr
    assert "eaf:pullSecret = '(secret, not shown)'" in output, output
    assert f"a secret stored in plain text in Pulumi.{STACK}.yaml" in output, output
    assert "cm9ib3Q6cGxhaW4tdGV4dC1lbmdpbmUtdGVzdA==" not in output


def test_a_secret_set_with_secret_is_not_reported(preview):
    assert "eaf:sshPublicKeys" not in preview.stdout + preview.stderr

"""secret-outputs (on stack outputs) and protected-never-replaced (on recorded preview JSON)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from infra.paths import PROJECT_DIR
from policy import outputs
from policy.preview import check_preview
from tests.policy.support import info, records

PREVIEWS = PROJECT_DIR / "tests" / "fixtures" / "preview"


def test_a_plain_kubeconfig_output_is_named(stack_runs) -> None:
    run = stack_runs("prod-a")
    plain = dataclasses.replace(info(run), secret_outputs=info(run).secret_outputs - {"kubeconfig"})
    violations = outputs.check(records(run), plain)
    assert [v.message for v in violations] == [
        "stack prod-a: output kubeconfig looks like a credential but is exported in the clear; "
        "export it with pulumi.Output.secret(...)"
    ]


def test_a_password_inside_a_plain_output_is_named(stack_runs) -> None:
    run = stack_runs("dev")
    stack = info(run)
    leaky = dataclasses.replace(stack, outputs={**stack.outputs, "apps": {"grafana": {"url": "https://g",
                                                                                       "adminPassword": "x"}}})
    violations = outputs.check(records(run), leaky)
    assert [v.message for v in violations] == [
        "stack dev: output apps.grafana.adminPassword looks like a credential but is exported in the clear; "
        "export it with pulumi.Output.secret(...)"
    ]


def test_the_real_stacks_export_their_credentials_as_secrets(stack_runs) -> None:
    run = stack_runs("prod-b")
    assert {"kubeconfig", "kubeadminPassword"} <= info(run).secret_outputs


def _preview(name: str) -> dict:
    return json.loads((PREVIEWS / f"{name}.json").read_text(encoding="utf-8"))


def test_a_planned_replacement_of_a_protected_volume_is_named() -> None:
    violations = check_preview("prod-a", _preview("recorded-protected-replace"))
    assert len(violations) == 1, [str(v) for v in violations]
    assert violations[0].urn.endswith("::hub-db-volume")
    assert violations[0].message.startswith(
        "stack prod-a: protected pulumi-python:dynamic:Resource hub-db-volume would be replaced (because of sizeGiB)")


def test_a_planned_deletion_of_a_protected_volume_is_named() -> None:
    violations = check_preview("prod-b", _preview("recorded-protected-delete"))
    assert [v.urn.rsplit("::", 1)[1] for v in violations] == ["hub-db-volume"]
    assert "would be deleted" in violations[0].message


def test_replacing_unprotected_things_and_updating_protected_ones_is_allowed() -> None:
    # recorded-changes replaces worker-2 and scratch-disk (unprotected) and updates the protected hub-db-volume.
    assert check_preview("dev", _preview("recorded-changes")) == []


def test_the_preview_policy_cli_fails_on_a_violation() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "policy.preview", f"prod-a={PREVIEWS / 'recorded-protected-replace.json'}",
         f"dev={PREVIEWS / 'recorded-changes.json'}"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "[protected-never-replaced] stack prod-a: protected" in completed.stdout
    assert completed.stdout.rstrip().endswith("policy.preview: 1 violation(s) in 2 preview(s)")

"""Every bad input named by the spec fails before any resource is registered, with a message that names the stack,
the field, the value, why and the fix. Cases are data: tests/spec/cases/<case>.error.yaml with
  stack:     the stack to run
  overrides: merged over its stack file (plain config, as `pulumi config set` without --secret writes it)
  secrets:   test secrets to replace (null: leave out)
  expect:    texts the message must contain
  absent:    texts it must not contain (secret values)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.spec.errors import ConfigError
from infra.spec.secrecy import PUBLIC
from tests.harness import TEST_SECRETS, run_stack

CASES = sorted((Path(__file__).parent / "cases").glob("*.error.yaml"))


@pytest.fixture
def registrations(monkeypatch):
    """The resources each run registers, including runs that fail."""
    from tests import harness

    runs = []
    original = harness._RecordingMonitor.__init__

    def keep(self, mocks, run):
        original(self, mocks, run)
        runs.append(run)

    monkeypatch.setattr(harness._RecordingMonitor, "__init__", keep)
    return runs


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".error.yaml") for c in CASES])
def test_bad_config_is_refused_with_a_message_naming_field_and_fix(case: Path, registrations):
    spec = yaml.safe_load(case.read_text())
    with pytest.raises(ConfigError) as raised:
        run_stack(spec["stack"], overrides=spec.get("overrides"), secrets=spec.get("secrets"))
    message = str(raised.value)
    assert f"stack '{spec['stack']}'" in message
    for expected in spec["expect"]:
        assert expected in message, f"{case.name}: {expected!r} not in:\n{message}"
    for secret in [*spec.get("absent", ()), *(v for v in TEST_SECRETS.values() if v not in PUBLIC)]:
        assert secret.strip() not in message, f"{case.name}: a secret value is in the message:\n{message}"
    assert "nothing was created or changed" in message
    assert "Traceback" not in message
    for problem in raised.value.problems:  # a concrete fix every time, not a pointer at the docs
        assert problem.fix.strip() and "docs/config.md" not in problem.fix, (case.name, problem)
    assert [r.urn for run in registrations for r in run.resources] == [], case.name


def test_every_problem_lists_value_why_and_fix():
    with pytest.raises(ConfigError) as raised:
        run_stack("dev", overrides={"nodes": {"controllers": {"count": 2}}})
    (problem,) = raised.value.problems
    assert (problem.path, problem.value) == ("eaf:nodes.controllers.count", 2)
    assert problem.why and problem.fix

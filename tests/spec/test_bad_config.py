"""Every bad input named by the spec fails before any resource is registered, with a message that names the stack,
the field, the value, why and the fix. Cases are data: tests/spec/cases/<case>.error.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.spec.errors import ConfigError
from tests.harness import run_stack

CASES = sorted((Path(__file__).parent / "cases").glob("*.error.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".error.yaml") for c in CASES])
def test_bad_config_is_refused_with_a_message_naming_field_and_fix(case: Path):
    spec = yaml.safe_load(case.read_text())
    with pytest.raises(ConfigError) as raised:
        run_stack(spec["stack"], overrides=spec.get("overrides"), secrets=spec.get("secrets"))
    message = str(raised.value)
    assert f"stack '{spec['stack']}'" in message
    for expected in spec["expect"]:
        assert expected in message, f"{case.name}: {expected!r} not in:\n{message}"
    assert "nothing was created or changed" in message


def test_bad_config_registers_no_resource_before_failing():
    from tests import harness

    captured = {}
    original = harness._RecordingMonitor.__init__

    def keep(self, mocks, run):
        original(self, mocks, run)
        captured["run"] = run

    harness._RecordingMonitor.__init__ = keep
    try:
        with pytest.raises(ConfigError):
            run_stack("prod-a", overrides={"nodes": {"controllers": {"count": 2}}})
    finally:
        harness._RecordingMonitor.__init__ = original
    assert captured["run"].resources == [], [r.urn for r in captured["run"].resources]


def test_every_problem_lists_value_why_and_fix():
    with pytest.raises(ConfigError) as raised:
        run_stack("dev", overrides={"nodes": {"controllers": {"count": 2}}})
    (problem,) = raised.value.problems
    assert (problem.path, problem.value) == ("eaf:nodes.controllers.count", 2)
    assert problem.why and problem.fix

"""Every alert and status rule the stacks deploy, checked and evaluated by a real Prometheus (`promtool`).

`promtool check rules` parses each group as Prometheus would load it; `promtool test rules` runs the cases of
tests/monitoring/rule-cases.yaml: each alert fires in its firing case (with exactly the expected labels and its
annotations) and stays quiet in its quiet case; each status rule records 1 and 0 where it should."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.deployed import rule_groups
from tests.support.prometheus import require_tool

pytestmark = pytest.mark.real

CASES = yaml.safe_load(Path(__file__).with_name("rule-cases.yaml").read_text(encoding="utf-8"))
GROUPS = rule_groups()
ALERTS = {r["alert"]: r for g in GROUPS for r in g["rules"] if "alert" in r}
RECORDS = {r["record"]: r for g in GROUPS for r in g["rules"] if "record" in r}


def _series(case: dict[str, str]) -> list[dict[str, str]]:
    return [{"series": series, "values": values} for series, values in case["series"].items()]


def _alert_test(name: str, case: dict[str, Any], firing: bool) -> dict[str, Any]:
    rule = ALERTS[name]
    expected = ([{"exp_labels": {**case.get("labels", {}), **rule["labels"]},
                  "exp_annotations": rule["annotations"]}] if firing else [])
    return {"name": f"{name} {'fires' if firing else 'stays quiet'}", "interval": "1m",
            "input_series": _series(case),
            "alert_rule_test": [{"eval_time": case["at"], "alertname": name, "exp_alerts": expected}]}


def _status_test(name: str, case: dict[str, Any]) -> dict[str, Any]:
    record = f"eaf:status:{name}"
    return {"name": f"{record} = {case['value']}", "interval": "1m", "input_series": _series(case),
            "promql_expr_test": [{"expr": record, "eval_time": case["at"],
                                  "exp_samples": [{"labels": record, "value": case["value"]}]}]}


def _promtool_test_file(tmp_path: Path, tests: list[dict[str, Any]]) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": GROUPS}, sort_keys=True), encoding="utf-8")
    test_file = tmp_path / "rules.test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests},
                                        sort_keys=False), encoding="utf-8")
    return test_file


def test_every_deployed_alert_has_a_firing_and_a_quiet_case():
    assert ALERTS, "the stacks deploy no alert rule"
    assert set(CASES["alerts"]) == set(ALERTS)
    assert all({"firing", "quiet"} <= set(cases) for cases in CASES["alerts"].values())


def test_every_status_rule_has_a_working_and_a_broken_case():
    assert {f"eaf:status:{name}" for name in CASES["status"]} == set(RECORDS)
    assert all({c["value"] for c in cases} == {0, 1} for cases in CASES["status"].values())


def test_prometheus_loads_every_rule_group(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": GROUPS}, sort_keys=True), encoding="utf-8")
    result = subprocess.run([require_tool("promtool"), "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS) + len(RECORDS)} rules found" in result.stdout


def test_alerts_and_status_rules_behave_as_their_cases_say(tmp_path):
    tests = [_alert_test(name, cases["firing"], firing=True) for name, cases in sorted(CASES["alerts"].items())]
    tests += [_alert_test(name, cases["quiet"], firing=False) for name, cases in sorted(CASES["alerts"].items())]
    tests += [_status_test(name, case) for name, cases in sorted(CASES["status"].items()) for case in cases]
    test_file = _promtool_test_file(tmp_path, tests)
    result = subprocess.run([require_tool("promtool"), "test", "rules", test_file.name], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout

"""Alerting and status rules of the apps (infra/data/apps/alerts.yaml) as PrometheusRules, one per app.

Each app that exports metrics adds its own rules next to its ServiceMonitor: OKD evaluates a user namespace's rules
only over that namespace's series, so a rule must live where its metrics are scraped.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import yaml
from pydantic import Field

from infra.apps import objects as o
from infra.catalog import DATA_DIR
from infra.spec.base import Strict

STATUS_PREFIX = "eaf:status:"


class StatusRule(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    help: str
    expr: str


class AlertRule(Strict):
    alert: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    expr: str
    for_: str = Field(alias="for", pattern=r"^[0-9]+[smh]$")
    severity: Literal["critical", "warning"]
    summary: str


class AppRules(Strict):
    status: tuple[StatusRule, ...] = ()
    alerts: tuple[AlertRule, ...] = ()


class RulesFile(Strict):
    apps: dict[str, AppRules]


@cache
def rules_file() -> RulesFile:
    with open(DATA_DIR / "apps" / "alerts.yaml", encoding="utf-8") as handle:
        return RulesFile.model_validate(yaml.safe_load(handle))


def rule_groups(app: str) -> list[dict[str, Any]]:
    """Prometheus rule groups (the rule-file format) of one app; empty when it has none."""
    rules = rules_file().apps.get(app)
    if rules is None:
        return []
    groups = []
    if rules.status:
        groups.append({"name": f"eaf-{app.replace('_', '-')}-status",
                       "rules": [{"record": STATUS_PREFIX + r.name, "expr": r.expr} for r in rules.status]})
    if rules.alerts:
        groups.append({"name": f"eaf-{app.replace('_', '-')}-alerts",
                       "rules": [{"alert": r.alert, "expr": r.expr, "for": r.for_,
                                  "labels": {"severity": r.severity}, "annotations": {"summary": r.summary}}
                                 for r in rules.alerts]})
    return groups


def prometheus_rules(app: str, namespace: str, app_label: str) -> list[dict[str, Any]]:
    """The app's PrometheusRule (served by OKD's monitoring operator), or nothing when it has no rules."""
    groups = rule_groups(app)
    if not groups:
        return []
    return [{"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
             "metadata": o.metadata(f"eaf-{app.replace('_', '-')}-rules", namespace, app_label, "rules"),
             "spec": {"groups": groups}}]


def status_records() -> list[str]:
    """Every status series the rules record (eaf:status:<name>), for the status dashboard and remote write."""
    return [STATUS_PREFIX + r.name for rules in rules_file().apps.values() for r in rules.status]

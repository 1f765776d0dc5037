"""The rules data: each rule group belongs to an app of the registry, status rules feed the status dashboard."""

from __future__ import annotations

from infra.apps.alert_rules import prometheus_rules, rules_file, status_records
from infra.apps.dashboards import dashboard
from infra.apps.registry import definitions


def test_every_rule_group_belongs_to_an_app_with_a_namespace():
    apps = {d.key: d for d in definitions()}
    for app in rules_file().apps:
        assert app in apps, f"alerts.yaml names {app!r}, not an app of infra/apps/registry.py"
        assert "namespace" in apps[app].settings.model_fields, f"{app} has no namespace to put its rules in"


def test_an_apps_rules_are_one_prometheus_rule_with_status_and_alert_groups():
    (rule,) = prometheus_rules("jupyterhub", "eaf-hub", "jupyterhub")
    assert rule["metadata"]["namespace"] == "eaf-hub"
    groups = {g["name"]: g["rules"] for g in rule["spec"]["groups"]}
    assert set(groups) == {"eaf-jupyterhub-status", "eaf-jupyterhub-alerts"}
    assert all("record" in r and r["record"].startswith("eaf:status:") for r in groups["eaf-jupyterhub-status"])
    assert all(r["labels"]["severity"] in ("critical", "warning") for r in groups["eaf-jupyterhub-alerts"])
    assert prometheus_rules("mlflow", "mlflow", "mlflow") == []


def test_the_status_dashboard_has_one_stat_panel_per_status_rule():
    panels = dashboard("eaf-status")["panels"]
    assert [p["targets"][0]["expr"] for p in panels] == [f"min({record})" for record in status_records()]
    assert all(p["type"] == "stat" and p["fieldConfig"]["defaults"]["noValue"] == "no data" for p in panels)

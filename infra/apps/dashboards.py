"""Grafana dashboards as code: infra/data/apps/dashboards.yaml -> Grafana's dashboard JSON model.

Queries may name `${hub_namespace}` (where notebook pods run); it is filled in from the stack's settings. The status
dashboard is made from the status rules (infra/data/apps/alerts.yaml): one stat panel per `eaf:status:*` series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any

import yaml

from infra.apps.alert_rules import rules_file
from infra.catalog import DATA_DIR

DATASOURCE = {"type": "prometheus", "uid": "thanos-querier"}
PANEL_WIDTH, PANEL_HEIGHT, COLUMNS = 12, 8, 2
STATUS_UID = "eaf-status"


@dataclass(frozen=True)
class DashboardContext:
    """What the queries refer to that a stack may change."""

    hub_namespace: str = "jupyterhub"


@cache
def _data() -> dict[str, Any]:
    with open(DATA_DIR / "apps" / "dashboards.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["dashboards"]


def _grid(index: int) -> dict[str, int]:
    return {"x": (index % COLUMNS) * PANEL_WIDTH, "y": (index // COLUMNS) * PANEL_HEIGHT,
            "w": PANEL_WIDTH, "h": PANEL_HEIGHT}


def _panel(index: int, panel: dict[str, Any], context: DashboardContext) -> dict[str, Any]:
    return {
        "id": index + 1, "type": "timeseries", "title": panel["title"], "datasource": DATASOURCE,
        "gridPos": _grid(index),
        "fieldConfig": {"defaults": {"unit": panel["unit"]}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + n), "expr": Template(target["expr"]).substitute(vars(context)),
                     "legendFormat": target["legend"], "datasource": DATASOURCE}
                    for n, target in enumerate(panel["targets"])],
    }


def _status_panel(index: int, app: str, name: str, help_text: str) -> dict[str, Any]:
    """1 = working (green), 0 = not (red); no data is shown as such, never as working."""
    return {
        "id": index + 1, "type": "stat", "title": name.replace("_", " "), "description": help_text,
        "datasource": DATASOURCE, "gridPos": _grid(index),
        "fieldConfig": {"defaults": {
            "unit": "none", "noValue": "no data",
            "mappings": [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                                       "1": {"text": "OK", "color": "green"}}}],
            "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                         {"color": "green", "value": 1}]}},
            "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"},
        "targets": [{"refId": "A", "expr": f"min(eaf:status:{name})", "legendFormat": app,
                     "datasource": DATASOURCE}],
    }


def _frame(uid: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uid": uid, "title": title, "tags": ["eaf"], "timezone": "browser", "schemaVersion": 39,
            "editable": False, "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "panels": panels}


def dashboard(uid: str, context: DashboardContext = DashboardContext()) -> dict[str, Any]:
    if uid == STATUS_UID:
        checks = [(app, rule.name, rule.help) for app, rules in rules_file().apps.items() for rule in rules.status]
        return _frame(uid, "EAF: service status", [_status_panel(i, *check) for i, check in enumerate(checks)])
    spec = _data()[uid]
    return _frame(uid, spec["title"], [_panel(i, p, context) for i, p in enumerate(spec["panels"])])


def dashboard_uids() -> list[str]:
    return sorted([*_data(), STATUS_UID])


def dashboard_files(context: DashboardContext = DashboardContext()) -> dict[str, str]:
    """ConfigMap data: one JSON file per dashboard, byte-stable."""
    return {f"{uid}.json": json.dumps(dashboard(uid, context), indent=1, sort_keys=True) + "\n"
            for uid in dashboard_uids()}

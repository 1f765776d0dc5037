"""Grafana dashboards as code: infra/data/apps/dashboards.yaml -> Grafana's dashboard JSON model."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml

from infra.catalog import DATA_DIR

DATASOURCE = {"type": "prometheus", "uid": "thanos-querier"}
PANEL_WIDTH, PANEL_HEIGHT, COLUMNS = 12, 8, 2


@cache
def _data() -> dict[str, Any]:
    with open(DATA_DIR / "apps" / "dashboards.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["dashboards"]


def _panel(index: int, panel: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": index + 1, "type": "timeseries", "title": panel["title"], "datasource": DATASOURCE,
        "gridPos": {"x": (index % COLUMNS) * PANEL_WIDTH, "y": (index // COLUMNS) * PANEL_HEIGHT,
                    "w": PANEL_WIDTH, "h": PANEL_HEIGHT},
        "fieldConfig": {"defaults": {"unit": panel["unit"]}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + n), "expr": target["expr"], "legendFormat": target["legend"],
                     "datasource": DATASOURCE} for n, target in enumerate(panel["targets"])],
    }


def dashboard(uid: str) -> dict[str, Any]:
    spec = _data()[uid]
    return {"uid": uid, "title": spec["title"], "tags": ["eaf"], "timezone": "browser", "schemaVersion": 39,
            "editable": False, "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
            "panels": [_panel(i, p) for i, p in enumerate(spec["panels"])]}


def dashboard_files() -> dict[str, str]:
    """ConfigMap data: one JSON file per dashboard, byte-stable."""
    return {f"{uid}.json": json.dumps(dashboard(uid), indent=1, sort_keys=True) + "\n" for uid in sorted(_data())}

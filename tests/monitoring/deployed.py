"""What the stacks deploy for monitoring, read from the apps layer's objects (the mock run of each stack)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    expr: str
    legend: str

    @property
    def legend_labels(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", self.legend))

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.legend}"


def dashboards(stack: str) -> dict[str, dict[str, Any]]:
    data = named(manifests_for(stack), "ConfigMap", "grafana-dashboards", "eaf-monitoring")["data"]
    return {name.removesuffix(".json"): json.loads(text) for name, text in data.items()}


def panel_queries() -> list[PanelQuery]:
    """Every panel target of every stack's dashboards, once each."""
    queries = {}
    for stack in DEPLOYED_STACKS:
        for uid, board in dashboards(stack).items():
            for panel in board["panels"]:
                for target in panel["targets"]:
                    query = PanelQuery(uid, panel["title"], target["expr"], target["legendFormat"])
                    queries[(query.dashboard, query.panel, query.expr)] = query
    return [queries[key] for key in sorted(queries)]


def prometheus_rules(stack: str) -> list[dict[str, Any]]:
    return [m for m in manifests_for(stack) if m["kind"] == "PrometheusRule"]


def rule_groups() -> list[dict[str, Any]]:
    """Every rule group any stack deploys (same name = same group; they must agree across stacks)."""
    groups: dict[str, dict[str, Any]] = {}
    for stack in DEPLOYED_STACKS:
        for rule in prometheus_rules(stack):
            for group in rule["spec"]["groups"]:
                if group["name"] in groups:
                    assert groups[group["name"]] == group, f"{stack}: group {group['name']} differs between stacks"
                groups[group["name"]] = group
    return [groups[name] for name in sorted(groups)]


def recording_groups() -> list[dict[str, Any]]:
    """The deployed groups' recording rules only (what `promtool tsdb create-blocks-from rules` backfills)."""
    groups = [{"name": g["name"], "rules": [r for r in g["rules"] if "record" in r]} for g in rule_groups()]
    return [g for g in groups if g["rules"]]

"""Dashboards follow the stack's settings: the notebook panels query the hub's namespace, whatever it is."""

from __future__ import annotations

import json

from infra.apps.dashboards import DashboardContext, dashboard_files


def test_notebook_panels_query_a_renamed_hub_namespace():
    files = dashboard_files(DashboardContext(hub_namespace="eaf-hub"))
    exprs = [t["expr"] for p in json.loads(files["eaf-notebooks.json"])["panels"] for t in p["targets"]]
    assert all('namespace="eaf-hub"' in e for e in exprs)
    assert not any("jupyterhub\"" in e or "${" in e for e in exprs)


def test_dashboard_files_are_byte_stable():
    assert dashboard_files() == dashboard_files()

"""Every panel query of every dashboard the stacks deploy, evaluated by a real Prometheus over the sample series.

A panel that would show nothing (no series, or only NaN) fails, and so does a legend that names a label the
query's result does not carry (Grafana would print an empty legend)."""

from __future__ import annotations

import pytest

from tests.monitoring.deployed import PanelQuery, panel_queries

pytestmark = pytest.mark.real

QUERIES = panel_queries()


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_panel_query_shows_data(prometheus, sample_window, query: PanelQuery):
    # The last 40 minutes of the hour, at Grafana's step for a 6 h view (60 s), so rate()'s windows are full.
    result = prometheus.query_range(query.expr, sample_window.end - 2400, sample_window.end, 60)
    assert result.series, f"{query}: no series for {query.expr}"
    assert result.finite_values(), f"{query}: only NaN/Inf for {query.expr}"
    for label in query.legend_labels:
        missing = [s["metric"] for s in result.series if not s["metric"].get(label)]
        assert not missing, f"{query}: legend label {label!r} missing on {missing}"


def test_every_dashboard_has_panels_evaluated():
    assert {q.dashboard for q in QUERIES} == {"eaf-jupyterhub", "eaf-notebooks", "eaf-gpu", "eaf-triton",
                                              "eaf-status"}

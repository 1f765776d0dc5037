"""Fixtures of the monitoring tests: one real Prometheus over the sample series for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from tests.monitoring.deployed import recording_groups
from tests.monitoring.series import Window, openmetrics
from tests.support.prometheus import LocalPrometheus


@pytest.fixture(scope="session")
def sample_window() -> Window:
    return openmetrics()[0]


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory) -> Iterator[LocalPrometheus]:
    """The sample series, plus the deployed recording rules (status) evaluated over them by promtool's backfill."""
    window, text = openmetrics()
    rules = tmp_path_factory.mktemp("rules") / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": recording_groups()}, sort_keys=True), encoding="utf-8")
    with LocalPrometheus(text) as server:
        server.backfill_recording_rules(rules, window.start, window.end, eval_interval=window.step)
        yield server

"""Where the charts come from: the pinned version from its repository, or the published archive, sha256-checked
before anything is registered (infra/apps/charts.py)."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from infra.apps.charts import chart_pin
from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError
from tests.apps.manifests import charts_of
from tests.harness import run_stack

SHARED_CHARTS = PROJECT_DIR.parent / "shared" / "charts"  # ../shared/charts, beside the repository (as in CI)


def _archives(directory) -> dict:
    return {"apps": {"charts": {"archives": str(directory)}}}


def test_without_archives_each_chart_is_its_pinned_version_from_its_repository():
    charts = charts_of(run_stack("prod-a"))
    for release, chart in (("jupyterhub", "jupyterhub"), ("dask-gateway", "dask-gateway")):
        pin = chart_pin(chart)
        inputs = charts[release].inputs
        assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]["repo"]) == (
            chart, pin.version, pin.repository)


def test_the_published_archives_are_used_when_their_digests_match_the_pins():
    assert SHARED_CHARTS.is_dir(), f"{SHARED_CHARTS} is missing: the published chart archives sit beside the repo"
    charts = charts_of(run_stack("dev", overrides=_archives("../shared/charts")))
    for release, chart in (("jupyterhub", "jupyterhub"), ("dask-gateway", "dask-gateway")):
        inputs = charts[release].inputs
        assert inputs["chart"] == str(SHARED_CHARTS.resolve() / chart_pin(chart).archive)
        assert "version" not in inputs and "repositoryOpts" not in inputs


def test_an_archive_that_is_not_the_pinned_one_is_refused_naming_the_file_and_both_digests(tmp_path):
    for chart in ("jupyterhub", "dask-gateway"):
        shutil.copy(SHARED_CHARTS / chart_pin(chart).archive, tmp_path)
    tampered = tmp_path / chart_pin("jupyterhub").archive
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides=_archives(tmp_path))
    message = str(caught.value)
    assert "infra/data/versions.yaml apps.charts.jupyterhub.sha256" in message and str(tampered) in message
    assert hashlib.sha256(tampered.read_bytes()).hexdigest() in message
    assert chart_pin("jupyterhub").sha256 in message
    assert "dask-gateway" not in message.split("fix:")[0], "the untouched archive passes"


def test_a_missing_archive_or_directory_is_refused_before_anything_is_registered(tmp_path):
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides=_archives(tmp_path))
    assert "chart archive jupyterhub-3.3.8.tgz is not there" in str(caught.value)
    assert "nothing was created or changed" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides=_archives(tmp_path / "nowhere"))
    assert "eaf:apps.charts.archives" in str(caught.value) and "no such directory" in str(caught.value)

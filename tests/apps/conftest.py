"""Fixtures of the apps tests: the rendered apps objects per stack, and the hub's config executed for real."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.apps.manifests import manifests_for, named

# The hub Secret's variables the rendered config reads (values are test-only).
HUB_SECRET_VARIABLES = ("JPY_COOKIE_SECRET", "CONFIGPROXY_AUTH_TOKEN", "OAUTH_CLIENT_SECRET", "DASK_GATEWAY_API_TOKEN")


class _Config:
    """Stands in for traitlets' `c` only to record what jupyterhub_config.py assigns (c.Section.trait = value)."""

    def __init__(self) -> None:
        self._sections: dict[str, SimpleNamespace] = {}

    def __getattr__(self, section: str) -> SimpleNamespace:
        if section.startswith("_"):
            raise AttributeError(section)
        return self._sections.setdefault(section, SimpleNamespace())


@pytest.fixture(scope="session")
def hub_config_files():
    """stack -> the hub ConfigMap's files (jupyterhub_config.py, profiles.json)."""

    def get(stack: str) -> dict[str, str]:
        return named(manifests_for(stack), "ConfigMap", "hub-config", "jupyterhub")["data"]

    return get


@pytest.fixture
def executed_hub_config(tmp_path, monkeypatch, hub_config_files):
    """stack -> the recorded `c` after running the rendered jupyterhub_config.py with Python itself."""

    def run(stack: str) -> _Config:
        files = hub_config_files(stack)
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        for variable in HUB_SECRET_VARIABLES:
            monkeypatch.setenv(variable, "00" * 32)
        monkeypatch.setenv("POD_NAMESPACE", "jupyterhub")
        config = _Config()
        path = tmp_path / "jupyterhub_config.py"
        exec(compile(path.read_text(), str(path), "exec"), {"c": config, "__file__": str(path)})  # noqa: S102
        return config

    return run


def spawner_of(*groups: str) -> SimpleNamespace:
    """What KubeSpawner hands profile_list: a spawner whose user has the given JupyterHub groups."""
    return SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups]))


def profiles_json(files: dict[str, str]) -> list[dict]:
    return json.loads(files["profiles.json"])

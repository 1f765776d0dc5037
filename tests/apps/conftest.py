"""Fixtures of the apps tests: the values the stacks hand the charts, and the hub's own config snippets executed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.apps.manifests import chart_values


class _Config:
    """Stands in for traitlets' `c` only to record what a config snippet assigns (c.Section.trait = value)."""

    def __init__(self) -> None:
        self._sections: dict[str, SimpleNamespace] = {}

    def __getattr__(self, section: str) -> SimpleNamespace:
        if section.startswith("_"):
            raise AttributeError(section)
        return self._sections.setdefault(section, SimpleNamespace())


@pytest.fixture(scope="session")
def hub_values():
    """stack -> the jupyterhub chart's values."""
    return lambda stack: chart_values(stack, "jupyterhub")


@pytest.fixture
def executed_hub_config(hub_values):
    """stack -> the recorded `c` after the hub's extraConfig snippets ran on the profile list the chart's own
    jupyterhub_config.py sets from singleuser.profileList (as the hub runs them, in key order)."""

    def run(stack: str) -> _Config:
        values = hub_values(stack)
        config = _Config()
        config.KubeSpawner.profile_list = values["singleuser"]["profileList"]
        for name, text in sorted(values["hub"]["extraConfig"].items()):
            exec(compile(text, name, "exec"), {"c": config})  # noqa: S102
        return config

    return run


def spawner_of(*groups: str) -> SimpleNamespace:
    """What KubeSpawner hands profile_list: a spawner whose user has the given JupyterHub groups."""
    return SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups]))


def profile_list(values: dict) -> list[dict]:
    return values["singleuser"]["profileList"]

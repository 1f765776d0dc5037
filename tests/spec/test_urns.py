"""No two registered resources share a URN, in any stack, and a config that would make two is refused before any
resource exists (the engine would stop at the second registration, halfway through an update)."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError
from infra.spec.layering import layer, read_stack_file
from tests.harness import STACKS, run_stack


def _config(stack: str) -> dict:
    return layer(stack, PROJECT_DIR, read_stack_file(PROJECT_DIR, stack)).merged


@pytest.mark.parametrize("stack", STACKS)
def test_no_two_resources_share_a_urn(stack_runs, stack: str):
    urns = Counter(r.urn for r in stack_runs(stack).resources)
    assert urns, stack
    assert [urn for urn, count in urns.items() if count > 1] == [], stack


def _twice(items: list, index: int = 0) -> list:
    return [*items, copy.deepcopy(items[index])]


def _mutations(stack: str) -> dict[str, dict]:
    """Config changes that would each register two resources of one name (or claim one device twice)."""
    config = _config(stack)
    hosts = config["hosts"]
    workers = config["nodes"]["workers"]
    found = {
        "a host listed twice": {"hosts": _twice(hosts)},
        "two data disks of one name": {"nodes": {"workers": {"dataDisks": [
            {"name": "data", "sizeGiB": 1}, {"name": "data", "sizeGiB": 1}]}}},
        "one GPU listed twice on a host": {"hosts": [
            {**h, "gpus": _twice(h["gpus"])} if h.get("gpus") else h for h in hosts]}
        if any(h.get("gpus") for h in hosts) else {"hosts": [{**hosts[0], "gpus": [
            {"address": "0000:17:00.0", "model": "A100-80GB"}, {"address": "0000:17:00.0", "model": "A100-80GB"}]}]},
        "two NFS areas of one name": {"apps": {"storage": {"nfs": [
            {"name": "home", "server": "nfs.example.org", "path": "/a", "mountPath": "/a"},
            {"name": "home", "server": "nfs.example.org", "path": "/b", "mountPath": "/b"}]}}},
        "a node pinned to the hostname of another": {"nodes": {"workers": {"nodes": {
            f"worker-{workers['count'] - 1}": {"hostname": "ctrl-0"}}}}},
    }
    apps = config.get("apps", {})
    if apps.get("triton", {}).get("enabled") and apps.get("mlflow", {}).get("enabled"):
        found["two apps in one namespace"] = {"apps": {"triton": {"namespace": "mlflow"}}}
    return found


CASES = [(stack, name) for stack in STACKS for name in _mutations(stack)]


@pytest.mark.parametrize(("stack", "name"), CASES, ids=[f"{s}-{n.replace(' ', '-')}" for s, n in CASES])
def test_a_config_that_would_repeat_a_urn_is_refused_before_any_resource(stack: str, name: str, monkeypatch):
    from tests import harness

    runs = []
    original = harness._RecordingMonitor.__init__

    def keep(self, mocks, run):
        original(self, mocks, run)
        runs.append(run)

    monkeypatch.setattr(harness._RecordingMonitor, "__init__", keep)
    with pytest.raises(ConfigError):
        run_stack(stack, overrides=_mutations(stack)[name])
    assert [r.urn for run in runs for r in run.resources] == [], f"{stack}: {name}"

"""Credentials stay Pulumi secrets from the stack config to every Secret object that carries them."""

from __future__ import annotations

import pulumi

from infra.apps import deploy
from tests.harness import resolved, run_stack


def _captured_plan(monkeypatch, stack: str) -> deploy.AppsPlan:
    captured: list[deploy.AppsPlan] = []
    original = deploy.plan_apps

    def capture(*args, **kwargs):
        plan = original(*args, **kwargs)
        captured.append(plan)
        return plan

    monkeypatch.setattr(deploy, "plan_apps", capture)
    run_stack(stack)
    (plan,) = captured
    return plan


def test_every_value_of_every_secret_object_is_a_pulumi_secret(monkeypatch):
    plan = _captured_plan(monkeypatch, "dev")
    secrets = [m for m in plan.manifests if m["kind"] == "Secret" and "stringData" in m]
    assert len(secrets) >= 8
    for manifest in secrets:
        for key, value in manifest["stringData"].items():
            if key == "username":
                continue  # a database user name is not a credential
            where = f"Secret {manifest['metadata']['namespace']}/{manifest['metadata']['name']} {key}"
            assert isinstance(value, pulumi.Output), f"{where} is a plain value"
            assert resolved(value)[1], f"{where} is not marked secret"


def test_credentials_are_the_same_on_every_run(monkeypatch):
    first = _captured_plan(monkeypatch, "prod-a")
    token = next(m for m in first.manifests if m["metadata"]["name"] == "hub-secrets")["stringData"]
    again = run_stack("prod-a")
    hub = next(r for r in again.resources if r.name == "jupyterhub/hub-secrets")
    assert resolved(token["JPY_COOKIE_SECRET"])[0] == hub.inputs["stringData"]["JPY_COOKIE_SECRET"]

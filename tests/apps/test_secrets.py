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
    assert len(secrets) >= 6
    for manifest in secrets:
        for key, value in manifest["stringData"].items():
            if key == "username":
                continue  # a database user name is not a credential
            where = f"Secret {manifest['metadata']['namespace']}/{manifest['metadata']['name']} {key}"
            assert isinstance(value, pulumi.Output), f"{where} is a plain value"
            assert resolved(value)[1], f"{where} is not marked secret"


def _chart_values(plan: deploy.AppsPlan, release: str) -> dict:
    (values,) = [chart.values for _, build in plan.builds for chart in build.charts if chart.release == release]
    return values


def test_every_credential_handed_to_a_chart_is_a_pulumi_secret(monkeypatch):
    plan = _captured_plan(monkeypatch, "dev")
    hub, gateway = _chart_values(plan, "jupyterhub"), _chart_values(plan, "dask-gateway")
    credentials = {"hub.cookieSecret": hub["hub"]["cookieSecret"], "proxy.secretToken": hub["proxy"]["secretToken"],
                   "CryptKeeper.keys": hub["hub"]["config"]["CryptKeeper"]["keys"][0],
                   "client_secret": hub["hub"]["config"]["GenericOAuthenticator"]["client_secret"],
                   "services.dask-gateway": hub["hub"]["services"]["dask-gateway"]["apiToken"],
                   "services.prometheus": hub["hub"]["services"]["prometheus"]["apiToken"],
                   "gateway apiToken": gateway["gateway"]["auth"]["jupyterhub"]["apiToken"]}
    for where, value in credentials.items():
        assert isinstance(value, pulumi.Output), f"{where} is a plain value"
        assert resolved(value)[1], f"{where} is not marked secret"


def test_credentials_are_the_same_on_every_run(monkeypatch):
    first = _captured_plan(monkeypatch, "prod-a")
    cookie = _chart_values(first, "jupyterhub")["hub"]["cookieSecret"]
    again = run_stack("prod-a")
    hub = next(r for r in again.resources if r.type == "kubernetes:helm.sh/v4:Chart" and r.name == "jupyterhub")
    assert resolved(cookie)[0] == hub.inputs["values"]["hub"]["cookieSecret"]

"""Dask Gateway: JupyterHub authentication, per-group limits, no public dashboard, its own definitions."""

from __future__ import annotations

import pytest

from infra.apps.dask_gateway import CUSTOM_KINDS
from infra.spec.errors import ConfigError
from tests.apps.conftest import HUB_SECRET_VARIABLES
from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS, run_stack


class _Recorder:
    def __init__(self) -> None:
        self.sections: dict[str, object] = {}

    def __getattr__(self, name: str):
        from types import SimpleNamespace

        if name.startswith("_") or name == "sections":
            raise AttributeError(name)
        return self.sections.setdefault(name, SimpleNamespace())


def _executed_gateway_config(stack: str, monkeypatch) -> tuple[_Recorder, dict]:
    """Run the rendered dask_gateway_config.py; dask_gateway_server.options is stood in by a recorder module."""
    import sys
    import types

    options = types.ModuleType("dask_gateway_server.options")
    options.Float = lambda name, **kw: ("Float", name, kw)
    options.Options = lambda *fields, handler: {"fields": fields, "handler": handler}
    monkeypatch.setitem(sys.modules, "dask_gateway_server", types.ModuleType("dask_gateway_server"))
    monkeypatch.setitem(sys.modules, "dask_gateway_server.options", options)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "00" * 32)
    text = named(manifests_for(stack), "ConfigMap", "api", "dask-gateway")["data"]["dask_gateway_config.py"]
    config = _Recorder()
    exec(compile(text, "dask_gateway_config.py", "exec"), {"c": config})  # noqa: S102
    return config, config.sections["Backend"].cluster_options


def _user(*groups: str):
    from types import SimpleNamespace

    return SimpleNamespace(name="someone", groups=list(groups), admin=False)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_gateway_authenticates_through_the_hub(stack, monkeypatch):
    config, _ = _executed_gateway_config(stack, monkeypatch)
    assert config.DaskGateway.authenticator_class == "dask_gateway_server.auth.JupyterHubAuthenticator"
    assert config.JupyterHubAuthenticator.jupyterhub_api_url == "http://hub.jupyterhub.svc:8081/hub/api"


def test_the_hub_registers_the_gateway_with_the_same_token(executed_hub_config):
    manifests = manifests_for("dev")
    hub_token = named(manifests, "Secret", "hub-secrets", "jupyterhub")["stringData"]["DASK_GATEWAY_API_TOKEN"]
    gateway_token = named(manifests, "Secret", "dask-gateway-hub-token", "dask-gateway")["stringData"]["token"]
    assert hub_token == gateway_token and len(hub_token) == 64
    hub = executed_hub_config("dev")
    services = {s["name"]: s for s in hub.JupyterHub.services}
    assert services["dask-gateway"]["api_token"] == "00" * 32, "the hub reads the token from its Secret"
    assert "dask-gateway" not in {r["name"] for r in hub.JupyterHub.load_roles}, "the gateway needs no scope"
    assert "DASK_GATEWAY_API_TOKEN" in HUB_SECRET_VARIABLES


def test_per_group_limits_give_cms_users_more_than_others(monkeypatch):
    _, options = _executed_gateway_config("dev", monkeypatch)
    handler = options["handler"]
    chosen = type("Chosen", (), {"worker_cores": 2, "worker_memory_gib": 8})()
    cms = handler(chosen, _user("cms"))
    other = handler(chosen, _user("dune"))
    both = handler(chosen, _user("accel-ai", "cms"))
    assert (cms["cluster_max_cores"], cms["cluster_max_workers"], cms["cluster_max_memory"]) == (200, 100, "800 G")
    assert (other["cluster_max_cores"], other["cluster_max_workers"]) == (16, 8), "defaults for groups without limits"
    assert both["cluster_max_cores"] == 200, "a user in several groups gets the largest limits"
    assert cms["worker_memory"] == "8 G"


def test_worker_options_cannot_exceed_the_worker_limits(monkeypatch):
    _, options = _executed_gateway_config("prod-a", monkeypatch)
    fields = {name: kw for _, name, kw in options["fields"]}
    assert fields["worker_cores"]["max"] == 2 and fields["worker_memory_gib"]["max"] == 8


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_gateway_has_no_public_route_and_notebooks_reach_it_in_cluster(stack, executed_hub_config):
    manifests = manifests_for(stack)
    assert not [m for m in manifests if m["kind"] == "Route" and m["metadata"]["namespace"] == "dask-gateway"]
    environment = executed_hub_config(stack).KubeSpawner.environment
    assert environment["DASK_GATEWAY__ADDRESS"] == "http://traefik.dask-gateway.svc:80"
    assert environment["DASK_GATEWAY__PUBLIC_ADDRESS"] == "/user/{username}/proxy/traefik.dask-gateway.svc:80"
    assert environment["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"


def test_every_kind_the_controller_and_traefik_watch_is_defined():
    manifests = manifests_for("dev")
    defined = {(m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests
               if m["kind"] == "CustomResourceDefinition"}
    assert defined == {(group, kind) for group, kind, _ in CUSTOM_KINDS}
    traefik = named(manifests, "Role", "traefik", "dask-gateway")
    watched = {r for rule in traefik["rules"] for r in rule["resources"]}
    assert {plural for group, _, plural in CUSTOM_KINDS if group == "traefik.containo.us"} <= watched


def test_the_api_route_carries_the_instance_label_traefik_selects_on():
    route = named(manifests_for("dev"), "IngressRoute", "api", "dask-gateway")
    assert route["metadata"]["labels"]["gateway.dask.org/instance"] == "eaf-dask-gateway"
    traefik = named(manifests_for("dev"), "Deployment", "traefik", "dask-gateway")
    args = traefik["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--providers.kubernetescrd.labelselector=gateway.dask.org/instance=eaf-dask-gateway" in args


def test_group_limits_for_an_unknown_vo_group_are_refused():
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"daskGateway": {"groupLimits": {
            "atlas": {"maxCores": 10, "maxMemoryGiB": 40, "maxWorkers": 5}}}}})
    assert "eaf:apps.daskGateway.groupLimits.atlas" in str(caught.value)
    assert "unknown VO group" in str(caught.value)


def test_the_gateway_needs_jupyterhub():
    with pytest.raises(ConfigError) as caught:
        run_stack("prod-b", overrides={"apps": {"jupyterhub": {"enabled": False}}})
    assert "Dask Gateway authenticates users through JupyterHub" in str(caught.value)


def test_workers_and_schedulers_mount_the_coffea_flavours_cvmfs_and_nfs(monkeypatch):
    config, _ = _executed_gateway_config("dev", monkeypatch)
    cluster = config.KubeClusterConfig
    mounts = {m["mountPath"]: m for m in cluster.worker_extra_container_config["volumeMounts"]}
    assert {"/cvmfs/cms.cern.ch", "/cvmfs/unpacked.cern.ch", "/nashome", "/uscms/home"} <= set(mounts)
    assert cluster.scheduler_extra_pod_config == cluster.worker_extra_pod_config
    claims = {v["persistentVolumeClaim"]["claimName"] for v in cluster.worker_extra_pod_config["volumes"]}
    manifests = manifests_for("dev")
    for claim in claims:
        named(manifests, "PersistentVolumeClaim", claim, "dask-gateway")
    assert cluster.image == "docker.io/coffeateam/coffea-dask-almalinux8:2024.5.0-py3.11"

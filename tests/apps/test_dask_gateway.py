"""Dask Gateway: the values the stack hands the dask-gateway chart (JupyterHub authentication, per-group limits, the
flavour's mounts), no public dashboard, OKD's SCC for the chart's Traefik. What the chart renders from these values is
checked by the real-engine tier (tests/engine/test_apps_layer_real.py)."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from infra.apps.images import pinned_images
from infra.spec.errors import ConfigError
from tests.apps.manifests import chart_values, charts_of, manifests_for, named, run_for
from tests.harness import DEPLOYED_STACKS, run_stack


class _Recorder:
    def __init__(self) -> None:
        self.sections: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "sections":
            raise AttributeError(name)
        return self.sections.setdefault(name, SimpleNamespace())


def _executed_extra_config(stack: str, monkeypatch) -> tuple[_Recorder, dict]:
    """Run the gateway's extraConfig snippets; dask_gateway_server.options is stood in by a recorder module."""
    options = types.ModuleType("dask_gateway_server.options")
    options.Float = lambda name, **kw: ("Float", name, kw)
    options.Options = lambda *fields, handler: {"fields": fields, "handler": handler}
    monkeypatch.setitem(sys.modules, "dask_gateway_server", types.ModuleType("dask_gateway_server"))
    monkeypatch.setitem(sys.modules, "dask_gateway_server.options", options)
    config = _Recorder()
    for name, text in sorted(chart_values(stack, "dask-gateway")["gateway"]["extraConfig"].items()):
        exec(compile(text, name, "exec"), {"c": config})  # noqa: S102
    return config, config.sections["Backend"].cluster_options


def _user(*groups: str):
    return SimpleNamespace(name="someone", groups=list(groups), admin=False)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_gateway_authenticates_through_the_hub(stack):
    auth = chart_values(stack, "dask-gateway")["gateway"]["auth"]
    assert auth["type"] == "jupyterhub"
    assert auth["jupyterhub"]["apiUrl"] == "http://hub.jupyterhub.svc:8081/hub/api"


def test_the_hub_registers_the_gateway_with_the_same_token():
    hub = chart_values("dev", "jupyterhub")["hub"]
    gateway_token = chart_values("dev", "dask-gateway")["gateway"]["auth"]["jupyterhub"]["apiToken"]
    assert hub["services"]["dask-gateway"]["apiToken"] == gateway_token and len(gateway_token) == 64
    assert "dask-gateway" not in hub["loadRoles"], "the gateway needs no scope"


def test_the_hub_lets_the_gateway_namespace_reach_its_api(hub_values):
    ingress = hub_values("dev")["hub"]["networkPolicy"]["ingress"]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dask-gateway"}}}],
            "ports": [{"port": "http"}]} in ingress


def test_per_group_limits_give_cms_users_more_than_others(monkeypatch):
    _, options = _executed_extra_config("dev", monkeypatch)
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
    config, options = _executed_extra_config("prod-a", monkeypatch)
    fields = {name: kw for _, name, kw in options["fields"]}
    assert fields["worker_cores"]["max"] == 2 and fields["worker_memory_gib"]["max"] == 8
    worker = chart_values("prod-a", "dask-gateway")["gateway"]["backend"]["worker"]
    assert worker["cores"]["limit"] == 2 and worker["memory"]["limit"] == "8 G"
    assert config.KubeClusterConfig.idle_timeout == 1800


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_gateway_has_no_public_route_and_notebooks_reach_it_in_cluster(stack, hub_values):
    manifests = manifests_for(stack)
    assert not [m for m in manifests if m["kind"] == "Route" and m["metadata"]["namespace"] == "dask-gateway"]
    assert chart_values(stack, "dask-gateway")["traefik"]["service"]["type"] == "ClusterIP"
    environment = hub_values(stack)["singleuser"]["extraEnv"]
    assert environment["DASK_GATEWAY__ADDRESS"] == "http://traefik-dask-gateway.dask-gateway.svc:80"
    assert environment["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://traefik-dask-gateway.dask-gateway.svc:8786"
    assert environment["DASK_GATEWAY__PUBLIC_ADDRESS"] == (
        "/user/{username}/proxy/traefik-dask-gateway.dask-gateway.svc:80")
    assert environment["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"


def test_the_charts_crds_are_installed_unless_another_traefik_owns_them():
    assert charts_of(run_for("dev"))["dask-gateway"].inputs["skipCrds"] is False
    run = run_stack("dev", overrides={"apps": {"daskGateway": {"installCrds": False}}})
    assert charts_of(run)["dask-gateway"].inputs["skipCrds"] is True
    assert not [m for m in manifests_for("dev") if m["kind"] == "CustomResourceDefinition"
                and "traefik" in m["metadata"]["name"]], "no Traefik CRD of the project's own"


def test_only_the_charts_traefik_may_use_the_nonroot_scc():
    binding = named(manifests_for("dev"), "RoleBinding", "traefik-nonroot-scc", "dask-gateway")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "system:openshift:scc:nonroot-v2"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "traefik-dask-gateway",
                                    "namespace": "dask-gateway"}]


def test_the_charts_images_are_the_pinned_ones():
    values = chart_values("dev", "dask-gateway")
    pinned = pinned_images()

    def reference(image: dict) -> str:
        return f"{image['name']}:{image['tag']}"

    assert reference(values["gateway"]["image"]) == pinned["dask-gateway-server"]
    assert reference(values["controller"]["image"]) == pinned["dask-gateway-server"]
    assert reference(values["traefik"]["image"]) == pinned["traefik"]
    assert reference(values["gateway"]["backend"]["image"]) == pinned["notebook-coffea-dask"]


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


def test_workers_and_schedulers_mount_the_coffea_flavours_cvmfs_and_nfs():
    backend = chart_values("dev", "dask-gateway")["gateway"]["backend"]
    worker, scheduler = backend["worker"], backend["scheduler"]
    mounts = {m["mountPath"]: m for m in worker["extraContainerConfig"]["volumeMounts"]}
    assert {"/cvmfs/cms.cern.ch", "/cvmfs/unpacked.cern.ch", "/nashome", "/uscms/home"} <= set(mounts)
    assert scheduler["extraPodConfig"] == worker["extraPodConfig"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in worker["extraPodConfig"]["volumes"]}
    manifests = manifests_for("dev")
    for claim in claims:
        named(manifests, "PersistentVolumeClaim", claim, "dask-gateway")

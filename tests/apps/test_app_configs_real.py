"""The config the stack hands the charts, loaded by the real programs' own config classes (the versions the charts'
pinned images carry).

JupyterHub and Dask Gateway only *warn* about a config key no class has, and a wrong type fails at start-up on the
cluster; these tests check every `hub.config` key and the gateway's `extraConfig` against the real classes, run the
hub's profile filter (`hub.extraConfig`) and let the real KubeSpawner build the pod of each server option for a user
of its VO, the storage settings mapped as the chart's jupyterhub_config.py maps them.

Needs the Python packages of the k8s-hub 3.3.8 image of the jupyterhub 3.3.8 chart and of dask-gateway-server
2024.1.0 (requirements.txt): jupyterhub 4.1.6, jupyterhub-kubespawner 6.2.0, oauthenticator 16.3.1,
dask-gateway-server 2024.1.0. Without them every test here fails and says so.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.apps.manifests import chart_values
from tests.harness import DEPLOYED_STACKS

pytestmark = pytest.mark.real

NEEDED = "jupyterhub==4.1.6 jupyterhub-kubespawner==6.2.0 oauthenticator==16.3.1 dask-gateway-server==2024.1.0"
# Config section -> the class that owns it, in the programs the pinned images run.
CLASSES = {
    "JupyterHub": "jupyterhub.app:JupyterHub",
    "ConfigurableHTTPProxy": "jupyterhub.proxy:ConfigurableHTTPProxy",
    "Authenticator": "jupyterhub.auth:Authenticator",
    "CryptKeeper": "jupyterhub.crypto:CryptKeeper",
    "GenericOAuthenticator": "oauthenticator.generic:GenericOAuthenticator",
    "KubeSpawner": "kubespawner:KubeSpawner",
    "DaskGateway": "dask_gateway_server.app:DaskGateway",
    "KubeBackend": "dask_gateway_server.backends.kubernetes:KubeBackend",
    "KubeClusterConfig": "dask_gateway_server.backends.kubernetes:KubeClusterConfig",
    "JupyterHubAuthenticator": "dask_gateway_server.auth:JupyterHubAuthenticator",
    "Backend": "dask_gateway_server.backends.base:Backend",
}
# KubeSpawner reads a kubeconfig when it is created; it never connects in these tests.
FAKE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"{error}: the real-config tier needs {NEEDED} in the virtualenv (requirements.txt)")


def _owner(section: str) -> type:
    module, name = CLASSES[section].split(":")
    return getattr(_require(module), name)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(FAKE_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return tmp_path


def _load(text: str, name: str, directory: Path, seed: str = ""):
    loader = _require("traitlets.config.loader")
    (directory / name).write_text(seed + text)
    return loader.PyFileConfigLoader(name, str(directory)).load_config()


# What the chart's own jupyterhub_config.py sets from these values before it runs hub.extraConfig (z2jh's mapping of
# singleuser.storage and singleuser.profileList), so that the real KubeSpawner sees what it sees on the cluster.
def _hub_config(stack: str, directory: Path):
    config_class = _require("traitlets.config").Config
    values = chart_values(stack, "jupyterhub")
    storage = values["singleuser"]["storage"]
    config = config_class({section: dict(traits) for section, traits in values["hub"]["config"].items()})
    config.KubeSpawner.profile_list = values["singleuser"]["profileList"]
    config.KubeSpawner.storage_pvc_ensure = True
    config.KubeSpawner.pvc_name_template = storage["dynamic"]["pvcNameTemplate"]
    config.KubeSpawner.storage_capacity = storage["capacity"]
    config.KubeSpawner.storage_access_modes = storage["dynamic"]["storageAccessModes"]
    config.KubeSpawner.environment = values["singleuser"]["extraEnv"]
    config.JupyterHub.allow_named_servers = values["hub"]["allowNamedServers"]
    config.JupyterHub.named_server_limit_per_user = values["hub"]["namedServerLimitPerUser"]
    config.JupyterHub.authenticate_prometheus = values["hub"]["authenticatePrometheus"]
    for name, text in sorted(values["hub"]["extraConfig"].items()):
        exec(compile(text, name, "exec"), {"c": config})  # noqa: S102
    return config


def _gateway_config(stack: str, directory: Path):
    text = chart_values(stack, "dask-gateway")["gateway"]["extraConfig"]["eaf-cluster-options"]
    return _load(text, "dask_gateway_config.py", directory)


def _unknown_or_invalid(config) -> list[str]:
    found = []
    for section, values in config.items():
        owner = _owner(section)
        traits = owner.class_traits(config=True)
        instance = owner.__new__(owner)
        for name, value in values.items():
            if name not in traits:
                found.append(f"{section}.{name}: {owner.__name__} has no such setting")
                continue
            try:
                traits[name]._validate(instance, value)
            except Exception as error:  # noqa: BLE001 - traitlets raises TraitError subclasses and others
                found.append(f"{section}.{name} = {value!r}: {error}")
    return found


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_hub_setting_exists_and_has_a_valid_value(stack, environment):
    assert _unknown_or_invalid(_hub_config(stack, environment)) == []


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_gateway_extra_setting_exists_and_has_a_valid_value(stack, environment):
    assert _unknown_or_invalid(_gateway_config(stack, environment)) == []


def _run(coroutine):
    """Run on a loop of its own: asyncio.run would clear the thread's current loop, which the Pulumi mock runs of
    the other tests in this session rely on."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _spawner(config, *groups: str):
    kubespawner = _require("kubespawner")
    user = SimpleNamespace(name="alice", escaped_name="alice", id=1, url="/user/alice/",
                           groups=[SimpleNamespace(name=g) for g in groups])
    return kubespawner.KubeSpawner(config=config, _mock=True, user=user)


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_real_kubespawner_builds_each_profiles_pod_for_a_member_of_its_vo(stack, environment):
    config = _hub_config(stack, environment)

    async def pod_of(slug: str, group: str):
        spawner = _spawner(config, group)
        spawner.user_options = {"profile": slug}
        await spawner.load_user_options()
        return await spawner.get_pod_manifest()

    for profile in chart_values(stack, "jupyterhub")["singleuser"]["profileList"]:
        pod = _run(pod_of(profile["slug"], profile["groups"][0]))
        container = pod.spec.containers[0]
        requests, limits = container.resources.requests, container.resources.limits
        assert float(requests["cpu"]) <= float(limits["cpu"]), profile["slug"]
        assert int(requests["memory"]) <= int(limits["memory"]), profile["slug"]
        gpu = {k: v for k, v in limits.items() if k.startswith("nvidia.com/")}
        assert gpu == profile["kubespawner_override"].get("extra_resource_limits", {}), profile["slug"]
        assert {m["mountPath"] for m in profile["kubespawner_override"]["volume_mounts"]} <= {
            m.mount_path if hasattr(m, "mount_path") else m["mountPath"] for m in container.volume_mounts}
        assert container.image == profile["kubespawner_override"]["image"]


def test_the_real_kubespawner_form_offers_a_user_only_their_vos_profiles(environment):
    config = _hub_config("dev", environment)

    async def form_for(group: str) -> str:
        spawner = _spawner(config, group)
        # What JupyterHub calls to show the server options page for a callable profile_list.
        return await spawner.options_form(spawner)

    form = _run(form_for("dune"))
    slugs = {p["slug"] for p in chart_values("dev", "jupyterhub")["singleuser"]["profileList"]}
    shown = {slug for slug in slugs if f'value="{slug}"' in form}
    assert shown == {"dune-larsoft-cpu", "dune-larsoft-gpu-20gb"}, shown


def test_the_real_oauthenticator_takes_the_login_settings(environment):
    generic = _require("oauthenticator.generic")
    authenticator = generic.GenericOAuthenticator(config=_hub_config("prod-a", environment))
    assert authenticator.manage_groups is True
    assert authenticator.claim_groups_key == "groups"
    assert authenticator.allowed_groups == {"cms", "dune", "fife", "astro", "accel-ai"}


def test_the_gateways_options_give_real_cluster_limits_per_group(environment):
    models = _require("dask_gateway_server.models")
    kubernetes = _require("dask_gateway_server.backends.kubernetes")
    gateway = _gateway_config("dev", environment)
    options = gateway.Backend.cluster_options
    chosen = options.parse_options({"worker_cores": 2, "worker_memory_gib": 8})
    for groups, cores in ((["cms"], 200), (["dune"], 16), (["accel-ai", "cms"], 200)):
        overrides = options.get_configuration(chosen, models.User("alice", groups=groups))
        cluster = kubernetes.KubeClusterConfig(config=gateway, **overrides)
        assert cluster.cluster_max_cores == cores, groups
        assert cluster.worker_cores <= cluster.worker_cores_limit
        assert cluster.worker_memory <= cluster.worker_memory_limit

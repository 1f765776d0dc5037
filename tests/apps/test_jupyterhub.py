"""JupyterHub: the values the stack hands the z2jh chart (the VO server catalog, its group restrictions, limits,
mounts and MIG slices, login, the hub) and the stack's own objects beside it. What the chart renders from these values
is checked by the real-engine tier (tests/engine/test_apps_layer_real.py)."""

from __future__ import annotations

import pytest
import yaml

from infra.apps.charts import chart_pin
from infra.apps.images import pinned_images
from tests.apps.conftest import profile_list, spawner_of
from tests.apps.manifests import charts_of, manifests_for, named, run_for
from tests.harness import DEPLOYED_STACKS

CATALOG_SLUGS = {
    "cms": {"cms-coffea-cpu", "cms-coffea-gpu-10gb"},
    "dune": {"dune-larsoft-cpu", "dune-larsoft-gpu-20gb"},
    "fife": {"fife-cpu", "fife-gpu-20gb"},
    "astro": {"astro-lsst-cpu"},
    "accel-ai": {"accel-ai-cpu", "accel-ai-gpu-10gb", "accel-ai-gpu-20gb", "accel-ai-gpu-40gb"},
}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_each_vo_sees_only_its_own_server_options(stack, executed_hub_config):
    profile_list = executed_hub_config(stack).KubeSpawner.profile_list
    for group, slugs in CATALOG_SLUGS.items():
        offered = {p["slug"] for p in profile_list(spawner_of(group))}
        assert offered == slugs, f"{stack}: group {group} is offered {sorted(offered)}"


def test_a_user_in_two_vos_sees_both_catalogs(executed_hub_config):
    offered = {p["slug"] for p in executed_hub_config("dev").KubeSpawner.profile_list(spawner_of("cms", "dune"))}
    assert offered == CATALOG_SLUGS["cms"] | CATALOG_SLUGS["dune"]


def test_a_user_in_no_vo_group_is_offered_nothing(executed_hub_config):
    assert executed_hub_config("dev").KubeSpawner.profile_list(spawner_of("somebody-else")) == []


def test_the_group_list_is_not_shown_to_users(executed_hub_config):
    for profile in executed_hub_config("dev").KubeSpawner.profile_list(spawner_of("accel-ai")):
        assert "groups" not in profile, f"profile {profile['slug']} leaks its groups to the form"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_profile_has_limits_at_or_above_its_guarantees(stack, hub_values):
    for profile in profile_list(hub_values(stack)):
        override = profile["kubespawner_override"]
        assert 0 < override["cpu_guarantee"] <= override["cpu_limit"], f"{stack}: {profile['slug']} cpu"
        guarantee, limit = (int(override[k].removesuffix("M")) for k in ("mem_guarantee", "mem_limit"))
        assert 0 < guarantee <= limit, f"{stack}: {profile['slug']} memory {guarantee}M > {limit}M"


def test_gpu_profiles_ask_for_exactly_one_slice_of_their_size(hub_values):
    expected = {"cms-coffea-gpu-10gb": "nvidia.com/mig-1g.10gb", "dune-larsoft-gpu-20gb": "nvidia.com/mig-2g.20gb",
                "fife-gpu-20gb": "nvidia.com/mig-2g.20gb", "accel-ai-gpu-10gb": "nvidia.com/mig-1g.10gb",
                "accel-ai-gpu-20gb": "nvidia.com/mig-2g.20gb", "accel-ai-gpu-40gb": "nvidia.com/mig-3g.40gb"}
    seen = {}
    for profile in profile_list(hub_values("dev")):
        override = profile["kubespawner_override"]
        limits = override.get("extra_resource_limits", {})
        assert limits == override.get("extra_resource_guarantees", {}), f"{profile['slug']}: request != limit"
        if limits:
            (resource, count), = limits.items()
            assert count == "1", f"{profile['slug']} asks for {count} slices"
            seen[profile["slug"]] = resource
    assert seen == expected


def _mounts(profile: dict) -> dict[str, dict]:
    return {m["mountPath"]: m for m in profile["kubespawner_override"]["volume_mounts"]}


def test_cms_servers_mount_cms_cvmfs_and_the_lpc_nfs_areas(hub_values):
    cms = next(p for p in profile_list(hub_values("dev")) if p["slug"] == "cms-coffea-cpu")
    mounts = _mounts(cms)
    assert {"/cvmfs/cms.cern.ch", "/cvmfs/unpacked.cern.ch", "/nashome", "/uscms/home", "/uscms/data1",
            "/home/jovyan"} <= set(mounts), sorted(mounts)
    assert "/cvmfs/dune.opensciencegrid.org" not in mounts
    assert all(m["readOnly"] for path, m in mounts.items() if path.startswith("/cvmfs/")), "CVMFS must be read-only"


def test_dune_servers_mount_dune_and_larsoft_cvmfs_but_not_cms_areas(hub_values):
    dune = next(p for p in profile_list(hub_values("dev")) if p["slug"] == "dune-larsoft-cpu")
    mounts = _mounts(dune)
    assert {"/cvmfs/dune.opensciencegrid.org", "/cvmfs/larsoft.opensciencegrid.org", "/nashome"} <= set(mounts)
    assert not {"/uscms/home", "/cvmfs/cms.cern.ch"} & set(mounts), sorted(mounts)


def test_every_server_shares_the_users_home_claim(hub_values):
    for profile in profile_list(hub_values("dev")):
        volumes = {v["name"]: v for v in profile["kubespawner_override"]["volumes"]}
        assert volumes["home"] == {"name": "home", "persistentVolumeClaim": {"claimName": "claim-{username}"}}, \
            profile["slug"]


def test_only_gpu_servers_get_a_40_gib_scratch_volume(hub_values):
    for profile in profile_list(hub_values("dev")):
        volumes = {v["name"]: v for v in profile["kubespawner_override"]["volumes"]}
        gpu = "extra_resource_limits" in profile["kubespawner_override"]
        assert ("scratch" in volumes) == gpu, profile["slug"]
        if gpu:
            claim = volumes["scratch"]["ephemeral"]["volumeClaimTemplate"]["spec"]
            assert claim["resources"]["requests"]["storage"] == "40Gi", profile["slug"]
            assert "/scratch" in _mounts(profile)


def test_profiles_use_the_pinned_flavour_images(hub_values):
    pinned = set(pinned_images().values())
    for profile in profile_list(hub_values("dev")):
        assert profile["kubespawner_override"]["image"] in pinned, profile["slug"]


def test_home_is_25_gib_and_shared_by_up_to_four_named_servers(hub_values):
    values = hub_values("prod-a")
    assert values["hub"]["allowNamedServers"] is True
    assert values["hub"]["namedServerLimitPerUser"] == 4
    storage = values["singleuser"]["storage"]
    assert storage["type"] == "dynamic" and storage["capacity"] == "25Gi"
    assert storage["dynamic"]["pvcNameTemplate"] == "claim-{username}"
    assert storage["dynamic"]["storageAccessModes"] == ["ReadWriteMany"]
    # The stack's default class (eaf:apps.storage.defaultClass) when the hub names none: homes and the hub database.
    assert storage["dynamic"]["storageClass"] == values["hub"]["db"]["pvc"]["storageClassName"] == "eaf-nfs"


def test_login_is_generic_oidc_with_groups_from_the_userinfo(hub_values):
    config = hub_values("dev")["hub"]["config"]
    oauth = config["GenericOAuthenticator"]
    assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert oauth["client_id"] == "eaf-jupyterhub-dev"
    assert oauth["authorize_url"] == "https://pingprod.fnal.gov/as/authorization.oauth2"
    assert oauth["oauth_callback_url"] == "https://jupyter.apps.eaf-dev.fnal.gov/hub/oauth_callback"
    assert oauth["manage_groups"] is True and oauth["claim_groups_key"] == "groups"
    assert set(oauth["allowed_groups"]) == set(CATALOG_SLUGS)
    assert config["Authenticator"]["enable_auth_state"] is True


def test_the_hubs_credentials_are_secret_in_the_charts_values():
    chart = charts_of(run_for("dev"))["jupyterhub"]
    values = chart.inputs["values"]
    assert values["hub"]["config"]["GenericOAuthenticator"]["client_secret"] == "test-only-oidc-client-secret"
    assert len(values["hub"]["cookieSecret"]) == 64 and len(values["proxy"]["secretToken"]) == 64
    assert len(values["hub"]["config"]["CryptKeeper"]["keys"][0]) == 64
    # Fixed, derived values: the chart would otherwise generate new random ones on every render.
    assert values["hub"]["cookieSecret"] != values["proxy"]["secretToken"]


def test_idle_culler_is_the_charts_with_the_settings_timeouts(hub_values):
    cull = hub_values("dev")["cull"]
    assert cull == {"enabled": True, "timeout": 3600, "every": 600, "maxAge": 0, "concurrency": 10}


def test_hub_metrics_need_a_token_and_prometheus_gets_one_that_reads_only_metrics(hub_values):
    hub = hub_values("dev")["hub"]
    assert hub["authenticatePrometheus"] is True
    assert hub["loadRoles"]["prometheus"] == {"services": ["prometheus"], "scopes": ["read:metrics"]}
    monitor = named(manifests_for("dev"), "ServiceMonitor", "hub", "jupyterhub")
    endpoint, = monitor["spec"]["endpoints"]
    assert endpoint["bearerTokenSecret"] == {"name": "hub", "key": "hub.services.prometheus.apiToken"}


def test_hub_is_reached_through_an_okd_route_to_the_proxy(hub_values):
    route = named(manifests_for("prod-b"), "Route", "jupyterhub", "jupyterhub")
    assert route["spec"]["host"] == "jupyter.eaf.fnal.gov", "the facility name (Pulumi.prod.yaml)"
    assert route["spec"]["to"]["name"] == "proxy-public"
    assert route["spec"]["tls"]["termination"] == "edge"
    assert hub_values("prod-b")["proxy"]["service"]["type"] == "ClusterIP", "no LoadBalancer beside the Route"


def test_the_charts_fixed_uids_and_fs_groups_are_unset_for_okd():
    chart = charts_of(run_for("dev"))["jupyterhub"].inputs
    unset = yaml.safe_load(chart["valueYamlFiles"][0].text)
    assert unset["hub"] == {"podSecurityContext": {"fsGroup": None},
                            "containerSecurityContext": {"runAsUser": None, "runAsGroup": None}}
    assert unset["proxy"]["chp"]["containerSecurityContext"] == {"runAsUser": None, "runAsGroup": None}
    assert unset["singleuser"] == {"uid": None, "fsGid": None}


def test_node_level_and_cluster_wide_chart_features_are_off(hub_values):
    values = hub_values("dev")
    assert values["prePuller"] == {"hook": {"enabled": False}, "continuous": {"enabled": False}}
    assert not any(feature["enabled"] for feature in values["scheduling"].values())
    assert values["singleuser"]["cloudMetadata"] == {"blockWithIptables": False}


def test_the_chart_and_its_images_are_the_pinned_ones(hub_values):
    chart = charts_of(run_for("dev"))["jupyterhub"].inputs
    pin = chart_pin("jupyterhub")
    assert (chart["chart"], chart["version"], chart["repositoryOpts"]["repo"]) == ("jupyterhub", pin.version,
                                                                                    pin.repository)
    values = hub_values("dev")
    pinned = pinned_images()
    assert f"{values['hub']['image']['name']}:{values['hub']['image']['tag']}" == pinned["jupyterhub-hub"]
    chp = values["proxy"]["chp"]["image"]
    assert f"{chp['name']}:{chp['tag']}" == pinned["configurable-http-proxy"]

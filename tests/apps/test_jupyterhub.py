"""JupyterHub: the VO server catalog, its group restrictions, limits, mounts and MIG slices, login and the hub."""

from __future__ import annotations

import pytest

from infra.apps.images import pinned_images
from tests.apps.conftest import profiles_json, spawner_of
from tests.apps.manifests import manifests_for, named
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
def test_every_profile_has_limits_at_or_above_its_guarantees(stack, hub_config_files):
    for profile in profiles_json(hub_config_files(stack)):
        override = profile["kubespawner_override"]
        assert 0 < override["cpu_guarantee"] <= override["cpu_limit"], f"{stack}: {profile['slug']} cpu"
        guarantee, limit = (int(override[k].removesuffix("M")) for k in ("mem_guarantee", "mem_limit"))
        assert 0 < guarantee <= limit, f"{stack}: {profile['slug']} memory {guarantee}M > {limit}M"


def test_gpu_profiles_ask_for_exactly_one_slice_of_their_size(hub_config_files):
    expected = {"cms-coffea-gpu-10gb": "nvidia.com/mig-1g.10gb", "dune-larsoft-gpu-20gb": "nvidia.com/mig-2g.20gb",
                "fife-gpu-20gb": "nvidia.com/mig-2g.20gb", "accel-ai-gpu-10gb": "nvidia.com/mig-1g.10gb",
                "accel-ai-gpu-20gb": "nvidia.com/mig-2g.20gb", "accel-ai-gpu-40gb": "nvidia.com/mig-3g.40gb"}
    seen = {}
    for profile in profiles_json(hub_config_files("dev")):
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


def test_cms_servers_mount_cms_cvmfs_and_the_lpc_nfs_areas(hub_config_files):
    cms = next(p for p in profiles_json(hub_config_files("dev")) if p["slug"] == "cms-coffea-cpu")
    mounts = _mounts(cms)
    assert {"/cvmfs/cms.cern.ch", "/cvmfs/unpacked.cern.ch", "/nashome", "/uscms/home", "/uscms/data1",
            "/home/jovyan"} <= set(mounts), sorted(mounts)
    assert "/cvmfs/dune.opensciencegrid.org" not in mounts
    assert all(m["readOnly"] for path, m in mounts.items() if path.startswith("/cvmfs/")), "CVMFS must be read-only"


def test_dune_servers_mount_dune_and_larsoft_cvmfs_but_not_cms_areas(hub_config_files):
    dune = next(p for p in profiles_json(hub_config_files("dev")) if p["slug"] == "dune-larsoft-cpu")
    mounts = _mounts(dune)
    assert {"/cvmfs/dune.opensciencegrid.org", "/cvmfs/larsoft.opensciencegrid.org", "/nashome"} <= set(mounts)
    assert not {"/uscms/home", "/cvmfs/cms.cern.ch"} & set(mounts), sorted(mounts)


def test_every_server_shares_the_users_home_claim(hub_config_files):
    for profile in profiles_json(hub_config_files("dev")):
        volumes = {v["name"]: v for v in profile["kubespawner_override"]["volumes"]}
        assert volumes["home"] == {"name": "home", "persistentVolumeClaim": {"claimName": "claim-{username}"}}, \
            profile["slug"]


def test_only_gpu_servers_get_a_40_gib_scratch_volume(hub_config_files):
    for profile in profiles_json(hub_config_files("dev")):
        volumes = {v["name"]: v for v in profile["kubespawner_override"]["volumes"]}
        gpu = "extra_resource_limits" in profile["kubespawner_override"]
        assert ("scratch" in volumes) == gpu, profile["slug"]
        if gpu:
            claim = volumes["scratch"]["ephemeral"]["volumeClaimTemplate"]["spec"]
            assert claim["resources"]["requests"]["storage"] == "40Gi", profile["slug"]
            assert "/scratch" in _mounts(profile)


def test_profiles_use_the_pinned_flavour_images(hub_config_files):
    pinned = set(pinned_images().values())
    for profile in profiles_json(hub_config_files("dev")):
        assert profile["kubespawner_override"]["image"] in pinned, profile["slug"]


def test_home_is_25_gib_and_shared_by_up_to_four_named_servers(executed_hub_config):
    config = executed_hub_config("prod-a")
    assert config.JupyterHub.allow_named_servers is True
    assert config.JupyterHub.named_server_limit_per_user == 4
    assert config.KubeSpawner.storage_capacity == "25Gi"
    assert config.KubeSpawner.pvc_name_template == "claim-{username}"
    assert config.KubeSpawner.storage_access_modes == ["ReadWriteMany"]


def test_login_is_generic_oidc_with_groups_from_the_userinfo(executed_hub_config):
    config = executed_hub_config("dev")
    oauth = config.GenericOAuthenticator
    assert config.JupyterHub.authenticator_class == "generic-oauth"
    assert oauth.client_id == "eaf-jupyterhub-dev"
    assert oauth.authorize_url == "https://pingprod.fnal.gov/as/authorization.oauth2"
    assert oauth.oauth_callback_url == "https://jupyter.apps.eaf-dev.fnal.gov/hub/oauth_callback"
    assert oauth.manage_groups is True and oauth.auth_state_groups_key == "oauth_user.groups"
    assert set(oauth.allowed_groups) == set(CATALOG_SLUGS)
    assert oauth.client_secret == "00" * 32, "the client secret must come from the environment (the hub Secret)"


def test_the_oidc_client_secret_reaches_the_hub_only_through_its_secret():
    manifests = manifests_for("dev")
    secret = named(manifests, "Secret", "hub-secrets", "jupyterhub")
    assert secret["stringData"]["OAUTH_CLIENT_SECRET"] == "test-only-oidc-client-secret"
    config = named(manifests, "ConfigMap", "hub-config", "jupyterhub")["data"]["jupyterhub_config.py"]
    assert "test-only-oidc-client-secret" not in config


def test_idle_culler_runs_as_a_hub_service_with_only_its_scopes(executed_hub_config):
    config = executed_hub_config("dev")
    services = {s["name"]: s for s in config.JupyterHub.services}
    culler = services["idle-culler"]
    assert culler["command"][:3] == ["python3", "-m", "jupyterhub_idle_culler"]
    assert "--timeout=3600" in culler["command"] and "api_token" not in culler
    roles = {r["name"]: r for r in config.JupyterHub.load_roles}
    assert roles["idle-culler"]["services"] == ["idle-culler"]
    assert set(roles["idle-culler"]["scopes"]) == {"list:users", "read:users:activity", "read:servers",
                                                   "delete:servers"}


def test_hub_is_reached_through_an_okd_route_to_the_proxy():
    route = named(manifests_for("prod-b"), "Route", "jupyterhub", "jupyterhub")
    assert route["spec"]["host"] == "jupyter.eaf.fnal.gov", "the facility name (Pulumi.prod.yaml)"
    assert route["spec"]["to"]["name"] == "proxy-public"
    assert route["spec"]["tls"]["termination"] == "edge"


def test_hub_pod_rolls_when_its_config_changes():
    manifests = manifests_for("dev")
    pod = named(manifests, "Deployment", "hub", "jupyterhub")["spec"]["template"]
    assert len(pod["metadata"]["annotations"]["eaf.fnal.gov/config-sha256"]) == 64


def test_hub_may_manage_only_pods_pvcs_and_read_events_in_its_namespace():
    role = named(manifests_for("dev"), "Role", "hub", "jupyterhub")
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert {r for r, _ in granted} == {"pods", "persistentvolumeclaims", "events"}
    assert ("events", "create") not in granted

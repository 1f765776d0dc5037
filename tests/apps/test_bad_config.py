"""Bad apps settings stop the stack before any resource is registered, with the field, the value and the fix."""

from __future__ import annotations

import pytest

from infra.spec.errors import ConfigError
from tests.harness import run_stack

GPU_PROFILE = {"slug": "cms-big-gpu", "displayName": "CMS big GPU", "flavour": "coffea-dask", "groups": ["cms"],
               "compute": {"cpu": {"request": 2, "limit": 4}, "memoryGiB": {"request": 8, "limit": 16}},
               "migProfile": "3g.40gb"}


def _problems(stack: str, overrides=None, secrets=None) -> str:
    with pytest.raises(ConfigError) as caught:
        run_stack(stack, overrides=overrides, secrets=secrets)
    return str(caught.value)


def _profile(**changes) -> dict:
    return {"apps": {"jupyterhub": {"extraProfiles": [{**GPU_PROFILE, **changes}]}}}


def test_a_profile_requesting_more_cpu_than_its_limit_is_refused_with_its_path():
    message = _problems("dev", _profile(compute={"cpu": {"request": 8, "limit": 4},
                                                 "memoryGiB": {"request": 8, "limit": 16}}))
    assert "eaf:apps.jupyterhub.extraProfiles[0].compute.cpu" in message
    assert "request 8 is above limit 4" in message and "set request <= limit" in message


def test_a_profile_requesting_more_memory_than_its_limit_is_refused():
    message = _problems("prod-a", _profile(compute={"cpu": {"request": 1, "limit": 4},
                                                    "memoryGiB": {"request": 32, "limit": 16}}))
    assert "extraProfiles[0].compute.memoryGiB" in message and "request 32 is above limit 16" in message


def test_a_profile_for_an_unknown_vo_group_is_refused_naming_the_known_groups():
    message = _problems("dev", _profile(groups=["cms", "atlas"]))
    assert "eaf:apps.jupyterhub.extraProfiles[0].groups = 'atlas'" in message
    assert "unknown VO group in profile 'cms-big-gpu'" in message
    assert "use one of: accel-ai, astro, cms, dune, fife" in message


def test_a_profile_slug_that_is_not_rfc1123_is_refused():
    message = _problems("dev", _profile(slug="CMS_big"))
    assert "extraProfiles.0.slug" in message or "extraProfiles[0].slug" in message
    assert "RFC 1123" in message


def test_a_mig_slice_no_gpu_worker_is_cut_into_is_refused_naming_the_offered_ones():
    message = _problems("dev", _profile(migProfile="1g.5gb"))
    assert "extraProfiles[0].migProfile = '1g.5gb'" in message
    assert "no GPU worker of this stack is cut into this MIG slice" in message
    assert "use one of: 1g.10gb, 2g.20gb, 3g.40gb" in message


def test_a_duplicate_profile_slug_is_refused():
    message = _problems("dev", _profile(slug="cms-coffea-cpu"))
    assert "two profiles with the same slug" in message


def test_an_unpinned_image_is_refused_before_anything_is_created(monkeypatch):
    from infra.apps import images
    from infra.spec import siblings

    pinned = {**images.pinned_images(), "notebook-fife": "harbor.fnal.gov/eaf/notebook-fife:latest"}
    monkeypatch.setattr(images, "pinned_images", lambda: pinned)
    # prod-b validates its sibling prod-a too: that result, made with the bad pin, must not outlive this test.
    monkeypatch.setattr(siblings, "_loaded", {})
    message = _problems("prod-b")
    assert "infra/data/versions.yaml apps.images.notebook-fife" in message
    assert "unpinned image: tag 'latest' moves with every push" in message
    assert "nothing was created or changed" in message


def test_a_flavour_image_that_is_not_pinned_at_all_is_refused(monkeypatch):
    from infra.apps import images

    pinned = {k: v for k, v in images.pinned_images().items() if k != "notebook-lsst"}
    monkeypatch.setattr(images, "pinned_images", lambda: pinned)
    message = _problems("dev")
    assert "vo-catalog.yaml:flavours.astro-lsst.image = 'notebook-lsst'" in message
    assert "no such image key in infra/data/versions.yaml apps.images" in message


def test_a_missing_oidc_client_secret_says_how_to_set_it():
    message = _problems("dev", secrets={"jupyterhubOidcClientSecret": None})
    assert "eaf:jupyterhubOidcClientSecret" in message
    assert "pulumi config set --secret eaf:jupyterhubOidcClientSecret -s dev" in message


def test_the_apps_secret_key_is_not_required_when_no_app_needs_it():
    from infra.apps.registry import definitions

    off = {"apps": {definition.config_key: {"enabled": False} for definition in definitions()}}
    secrets = {"appsSecretKey": None, "jupyterhubOidcClientSecret": None, "keycloakUpstreamClientSecret": None}
    run = run_stack("prod-a", overrides=off, secrets=secrets)
    assert not [r.urn for r in run.resources if r.type.startswith("eaf:apps:")]


def test_jupyterhub_without_an_identity_provider_is_refused():
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"jupyterhub": {"oidc": None}}})
    assert "eaf:apps.jupyterhub.oidc" in str(caught.value)
    assert "JupyterHub needs an OIDC identity provider" in str(caught.value)


def test_a_flavour_mounting_an_nfs_area_the_stack_lacks_is_refused():
    message = _problems("prod-a", {"apps": {"storage": {"nfs": [
        {"name": "nashome", "server": "nashome.fnal.gov", "path": "/nashome", "mountPath": "/nashome"}]}}})
    assert "flavours.coffea-dask.nfs = 'uscms-home'" in message and "no such NFS area" in message


def test_triton_asking_for_more_replicas_than_slices_is_refused():
    message = _problems("prod-a", {"apps": {"triton": {"maxReplicas": 5}}})
    assert "eaf:apps.triton.maxReplicas = 5" in message and "only 4 3g.40gb slice(s) exist" in message


def test_triton_min_above_max_is_refused():
    message = _problems("dev", {"apps": {"triton": {"minReplicas": 3, "maxReplicas": 2}}})
    assert "eaf:apps.triton" in message and "minReplicas 3 is above maxReplicas 2" in message


def test_triton_taking_every_40gb_slice_from_the_notebooks_is_refused():
    message = _problems("prod-a", {"apps": {"triton": {"maxReplicas": 4}}})
    assert "eaf:apps.triton.maxReplicas = 4" in message, message
    assert "leaving 0 to the notebook profiles" in message and "notebookMigReserve keeps 1" in message, message
    assert "set maxReplicas <= 3, or lower eaf:apps.triton.notebookMigReserve" in message, message


def test_a_larger_notebook_reserve_lowers_what_triton_may_take():
    message = _problems("dev", {"apps": {"triton": {"notebookMigReserve": 4}}})
    assert "Triton could take 4 of the 7 3g.40gb slice(s), leaving 3" in message, message
    assert "set maxReplicas <= 3" in message, message


def test_mlflow_without_keycloak_is_refused():
    message = _problems("dev", {"apps": {"keycloak": {"enabled": False}}})
    assert "eaf:apps.mlflow.enabled" in message and "MLflow is reached only through Keycloak login" in message


def test_hub_resources_request_above_limit_is_refused():
    message = _problems("dev", {"apps": {"jupyterhub": {"hub": {"cpu": {"request": 1, "limit": 2},
                                                                "memoryGiB": {"request": 8, "limit": 4}}}}})
    assert "eaf:apps.jupyterhub.hub.memoryGiB" in message and "request 8 is above limit 4" in message


def test_an_unknown_apps_setting_is_refused_with_a_suggestion():
    message = _problems("dev", {"apps": {"jupyterhub": {"namedServerPerUser": 3}}})
    assert "eaf:apps.jupyterhub.namedServerPerUser" in message and "did you mean 'namedServersPerUser'" in message

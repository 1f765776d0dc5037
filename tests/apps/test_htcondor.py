"""HTCondor from the notebooks: a client config + IDTOKEN per pool, mounted by the profiles that name the pool."""

from __future__ import annotations

import pytest

from infra.spec.errors import ConfigError
from tests.apps.conftest import profile_list
from tests.apps.manifests import charts_of, json_numbers, manifests_of, named
from tests.harness import run_stack

CMSLPC = {"collector": "cmslpc-cm.fnal.gov:9618", "schedds": ["lpcschedd1.fnal.gov", "lpcschedd2.fnal.gov"],
          "trustDomain": "cmslpc.fnal.gov"}
TOKENS = "cmslpc: eyJhbGciOiJIUzI1NiJ9.test-only.signature\n"
CONDOR_PROFILE = {"slug": "cms-lpc-condor", "displayName": "CMS: COFFEA-Dask + CMSLPC HTCondor",
                  "flavour": "coffea-dask", "groups": ["cms"], "htcondorPool": "cmslpc",
                  "compute": {"cpu": {"request": 1, "limit": 4}, "memoryGiB": {"request": 4, "limit": 16}}}


def _run(apps: dict | None = None, secrets: dict | None = None):
    settings = {"htcondor": {"enabled": True, "pools": {"cmslpc": CMSLPC}},
                "jupyterhub": {"extraProfiles": [CONDOR_PROFILE]}}
    return run_stack("dev", overrides={"apps": {**settings, **(apps or {})}},
                     secrets={"htcondorTokens": TOKENS, **(secrets or {})})


def _hub_profiles(run) -> list[dict]:
    return profile_list(json_numbers(charts_of(run)["jupyterhub"].inputs["values"]))


def _refusal(apps: dict, secrets: dict | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        _run(apps, secrets)
    return str(caught.value)


def test_each_pool_gets_a_client_config_in_the_hubs_namespace():
    config = named(manifests_of(_run()), "ConfigMap", "htcondor-cmslpc", "jupyterhub")["data"]["condor_config"]
    settings = dict(line.split(" = ", 1) for line in config.splitlines() if " = " in line and line[0] != "#")
    assert settings["COLLECTOR_HOST"] == "cmslpc-cm.fnal.gov:9618"
    assert settings["SCHEDD_HOST"] == "lpcschedd1.fnal.gov"
    assert settings["EAF_SCHEDDS"] == "lpcschedd1.fnal.gov, lpcschedd2.fnal.gov"
    assert settings["SEC_CLIENT_AUTHENTICATION_METHODS"] == "IDTOKENS"
    assert settings["SEC_TOKEN_DIRECTORY"] == "/etc/condor/tokens.d"


def test_the_pools_token_is_a_secret_in_the_state():
    run = _run()
    secret = run.named("jupyterhub/htcondor-cmslpc-token")
    assert secret.inputs["stringData"] == {"cmslpc.token": "eyJhbGciOiJIUzI1NiJ9.test-only.signature"}
    assert {"data", "stringData"} <= set(secret.additional_secret_outputs), secret.urn


def test_a_profile_naming_the_pool_mounts_its_config_and_token_and_sets_condor_config():
    override = next(p for p in _hub_profiles(_run()) if p["slug"] == "cms-lpc-condor")["kubespawner_override"]
    mounts = {m["mountPath"]: m for m in override["volume_mounts"]}
    assert mounts["/etc/condor/condor_config"]["subPath"] == "condor_config"
    assert mounts["/etc/condor/tokens.d"]["readOnly"] is True
    volumes = {v["name"]: v for v in override["volumes"]}
    assert volumes["htcondor-config"]["configMap"]["name"] == "htcondor-cmslpc"
    assert volumes["htcondor-token"]["secret"]["secretName"] == "htcondor-cmslpc-token"
    assert override["environment"] == {"CONDOR_CONFIG": "/etc/condor/condor_config"}


def test_profiles_without_a_pool_mount_nothing_of_htcondor():
    others = [p for p in _hub_profiles(_run()) if p["slug"] != "cms-lpc-condor"]
    assert others and not [p["slug"] for p in others
                           if any(v["name"].startswith("htcondor") for v in p["kubespawner_override"]["volumes"])]


def test_htcondor_is_off_unless_a_stack_turns_it_on(stack_runs):
    run = stack_runs("dev")
    assert not [r.urn for r in run.resources if "htcondor" in r.name or r.type == "eaf:apps:Htcondor"]


def test_a_profile_naming_an_unknown_pool_is_refused_with_the_pools_there_are():
    message = _refusal({"jupyterhub": {"extraProfiles": [{**CONDOR_PROFILE, "htcondorPool": "fermigrid"}]}})
    assert "eaf:apps.jupyterhub.extraProfiles[0].htcondorPool = 'fermigrid'" in message, message
    assert "no such pool in eaf:apps.htcondor.pools" in message and "use one of: cmslpc" in message


def test_a_profile_naming_a_pool_while_htcondor_is_off_is_refused():
    message = _refusal({"htcondor": {"enabled": False}})
    assert "eaf:apps.jupyterhub.extraProfiles[0].htcondorPool = 'cmslpc'" in message, message
    assert "set eaf:apps.htcondor.enabled: true" in message


def test_htcondor_without_its_tokens_secret_is_refused_with_the_command_that_sets_it():
    message = _refusal({}, secrets={"htcondorTokens": None})
    assert "eaf:htcondorTokens" in message and "pulumi config set --secret eaf:htcondorTokens -s dev" in message


def test_htcondor_with_no_pool_is_refused():
    message = _refusal({"htcondor": {"enabled": True, "pools": {}},
                        "jupyterhub": {"extraProfiles": []}})
    assert "eaf:apps.htcondor.pools" in message and "names no pool" in message, message


def test_a_pool_missing_from_the_tokens_secret_is_named_without_the_secrets_text():
    from infra.apps.htcondor import _token_of

    with pytest.raises(ValueError, match="no token for the HTCondor pool 'fermigrid'") as caught:
        _token_of("fermigrid", TOKENS)
    assert "eyJ" not in str(caught.value)


def test_the_pool_config_gives_dask_jobqueue_its_worker_job_and_schedd():
    import yaml

    run = _run({"htcondor": {"enabled": True, "pools": {"cmslpc": {
        **CMSLPC, "daskWorker": {"cores": 2, "memoryGiB": 8, "diskGiB": 10}}}}})
    data = named(manifests_of(run), "ConfigMap", "htcondor-cmslpc", "jupyterhub")["data"]
    htcondor = yaml.safe_load(data["jobqueue.yaml"])["jobqueue"]["htcondor"]
    assert (htcondor["cores"], htcondor["memory"], htcondor["disk"]) == (2, "8GiB", "10GiB")
    assert htcondor["submit-command-extra"] == ["-name", "lpcschedd1.fnal.gov"]


def test_a_condor_profile_mounts_the_jobqueue_defaults_where_dask_reads_its_config():
    override = next(p for p in _hub_profiles(_run()) if p["slug"] == "cms-lpc-condor")["kubespawner_override"]
    mount = next(m for m in override["volume_mounts"] if m["mountPath"] == "/etc/dask/jobqueue.yaml")
    assert (mount["name"], mount["subPath"]) == ("htcondor-config", "jobqueue.yaml")

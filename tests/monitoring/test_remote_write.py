"""Remote write to the lab: the same entry in both of OKD's Prometheus configs, the credential only in Secrets,
only the facility's series sent, and a missing credential named before anything is created."""

from __future__ import annotations

import json
from functools import cache

import pytest
import yaml

from infra.spec.errors import ConfigError
from tests.apps.manifests import manifests_of, named
from tests.harness import run_stack

LAB = {"url": "https://metrics.example.org/api/v1/push", "auth": "basic", "username": "eaf-dev"}
CREDENTIAL = "lab-remote-write-s3cret"


def _manifests(remote_write: dict) -> list[dict]:
    return _manifests_of_dev(json.dumps(remote_write, sort_keys=True))


@cache  # one mock run of the stack per setting, shared by the tests that read it
def _manifests_of_dev(remote_write: str) -> list[dict]:
    run = run_stack("dev", overrides={"apps": {"monitoring": {"remoteWrite": json.loads(remote_write)}}},
                    secrets={"monitoringRemoteWriteCredential": CREDENTIAL})
    return manifests_of(run)


def _config(manifests: list[dict], name: str, namespace: str) -> dict:
    return yaml.safe_load(named(manifests, "ConfigMap", name, namespace)["data"]["config.yaml"])


def test_both_prometheus_get_the_same_remote_write_entry():
    manifests = _manifests(LAB)
    platform = _config(manifests, "cluster-monitoring-config", "openshift-monitoring")
    user = _config(manifests, "user-workload-monitoring-config", "openshift-user-workload-monitoring")
    assert platform["enableUserWorkload"] is True
    assert platform["prometheusK8s"]["remoteWrite"] == user["prometheus"]["remoteWrite"]
    (entry,) = user["prometheus"]["remoteWrite"]
    assert entry["url"] == LAB["url"]
    assert entry["basicAuth"] == {"username": {"name": "eaf-remote-write", "key": "username"},
                                  "password": {"name": "eaf-remote-write", "key": "credential"}}


def test_the_credential_is_a_secret_in_each_prometheus_namespace_and_in_no_config_map():
    manifests = _manifests(LAB)
    for namespace in ("openshift-monitoring", "openshift-user-workload-monitoring"):
        secret = named(manifests, "Secret", "eaf-remote-write", namespace)
        assert secret["stringData"] == {"credential": CREDENTIAL, "username": "eaf-dev"}
    assert not any(CREDENTIAL in str(m.get("data", {})) for m in manifests if m["kind"] == "ConfigMap")


def test_only_the_facilitys_series_are_sent_each_marked_with_its_cluster():
    (entry,) = _config(_manifests(LAB), "user-workload-monitoring-config",
                       "openshift-user-workload-monitoring")["prometheus"]["remoteWrite"]
    keep, mark = entry["writeRelabelConfigs"]
    assert keep["action"] == "keep" and keep["sourceLabels"] == ["__name__"]
    assert "(jupyterhub_.+)" in keep["regex"] and "(eaf:status:.+)" in keep["regex"]
    assert mark == {"targetLabel": "eaf_cluster", "replacement": "eaf-dev", "action": "replace"}


def test_a_bearer_token_goes_in_the_authorization_header():
    (entry,) = _config(_manifests({"url": LAB["url"], "auth": "bearer"}), "cluster-monitoring-config",
                       "openshift-monitoring")["prometheusK8s"]["remoteWrite"]
    assert entry["authorization"] == {"type": "Bearer",
                                      "credentials": {"name": "eaf-remote-write", "key": "credential"}}
    assert "basicAuth" not in entry


def test_without_remote_write_the_user_workload_config_stays_okds(stack_runs):
    manifests = manifests_of(stack_runs("dev"))
    assert _config(manifests, "cluster-monitoring-config", "openshift-monitoring") == {"enableUserWorkload": True}
    assert not [m for m in manifests if m["metadata"]["name"] in ("user-workload-monitoring-config",
                                                                   "eaf-remote-write")]


def test_remote_write_without_its_credential_is_refused_with_the_command_that_sets_it():
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"monitoring": {"remoteWrite": LAB}}})
    assert "eaf:monitoringRemoteWriteCredential" in str(caught.value)
    assert "pulumi config set --secret eaf:monitoringRemoteWriteCredential -s dev" in str(caught.value)


@pytest.mark.parametrize(("remote_write", "says"), [
    ({"url": "http://metrics.example.org/push", "auth": "bearer"}, "url"),
    ({"url": LAB["url"], "auth": "basic"}, "needs a username"),
])
def test_a_bad_remote_write_setting_is_refused(remote_write, says):
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": {"monitoring": {"remoteWrite": remote_write}}},
                  secrets={"monitoringRemoteWriteCredential": CREDENTIAL})
    assert "eaf:apps.monitoring.remoteWrite" in str(caught.value) and says in str(caught.value)

"""Monitoring: OKD's user-workload monitoring switched on, no second node-exporter, Grafana dashboards as code."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.apps.manifests import manifests_for, named
from tests.harness import DEPLOYED_STACKS


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_user_workload_monitoring_is_switched_on_in_okds_own_config(stack):
    config = named(manifests_for(stack), "ConfigMap", "cluster-monitoring-config", "openshift-monitoring")
    assert yaml.safe_load(config["data"]["config.yaml"]) == {"enableUserWorkload": True}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_nothing_listens_on_node_exporters_port_9100(stack):
    """OKD runs node-exporter on every node; a second one would not start (host port 9100 is taken)."""
    for manifest in manifests_for(stack):
        if manifest["kind"] not in ("DaemonSet", "Deployment"):
            continue
        pod = manifest["spec"]["template"]["spec"]
        ports = [p for c in pod["containers"] for p in c.get("ports", [])]
        assert all(p["containerPort"] != 9100 and p.get("hostPort") != 9100 for p in ports), manifest["metadata"]
        assert not any("node-exporter" in c["image"] for c in pod["containers"]), manifest["metadata"]


def test_each_app_with_metrics_has_a_service_monitor_matching_its_service():
    manifests = manifests_for("dev")
    monitors = {(m["metadata"]["namespace"], m["metadata"]["name"]): m for m in manifests
                if m["kind"] == "ServiceMonitor"}
    assert set(monitors) == {("jupyterhub", "hub"), ("triton", "tritonserver"), ("keycloak", "keycloak"),
                             ("mlflow", "mlflow")}
    for (namespace, name), monitor in monitors.items():
        if namespace == "jupyterhub":
            continue  # the chart's hub Service: checked by the real-engine tier, where the chart is rendered
        service = named(manifests, "Service", name, namespace)
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= service["metadata"]["labels"].items(), f"{namespace}/{name} selects no service"
        port = monitor["spec"]["endpoints"][0]["port"]
        assert port in {p["name"] for p in service["spec"]["ports"]}, f"{namespace}/{name}: no port {port}"


def _dashboards() -> dict[str, dict]:
    data = named(manifests_for("dev"), "ConfigMap", "grafana-dashboards", "eaf-monitoring")["data"]
    return {name: json.loads(text) for name, text in data.items()}


def test_grafana_has_spawn_notebook_gpu_triton_and_status_dashboards():
    dashboards = _dashboards()
    assert set(dashboards) == {"eaf-jupyterhub.json", "eaf-notebooks.json", "eaf-gpu.json", "eaf-triton.json",
                               "eaf-status.json"}
    exprs = {name: " ".join(t["expr"] for p in d["panels"] for t in p["targets"]) for name, d in dashboards.items()}
    for histogram in ("spawn_duration_seconds", "poll_duration_seconds", "stop_seconds"):
        assert f"jupyterhub_server_{histogram}_bucket" in exprs["eaf-jupyterhub.json"]
    for metric in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                   "container_network_receive_bytes_total", "container_network_transmit_bytes_total",
                   "DCGM_FI_PROF_GR_ENGINE_ACTIVE"):
        assert metric in exprs["eaf-notebooks.json"]
    assert "DCGM_FI_DEV_GPU_UTIL" in exprs["eaf-gpu.json"] and "GPU_I_PROFILE" in exprs["eaf-gpu.json"]
    assert "nv_inference_queue_duration_us" in exprs["eaf-triton.json"]
    assert "eaf:status:jupyterhub_up" in exprs["eaf-status.json"]


def test_the_hub_startup_panel_reads_the_startup_histogram_not_a_gauge():
    """The hub observes its startup once, before the first scrape: the panel divides that process' histogram
    sum by its count (a rate() of its buckets is zero; the bare name is no series at all)."""
    panels = {p["title"]: p for p in _dashboards()["eaf-jupyterhub.json"]["panels"]}
    (target,) = panels["Hub startup time (per hub process)"]["targets"]
    assert target["expr"] == ("max by (pod) (jupyterhub_hub_startup_duration_seconds_sum / "
                              "jupyterhub_hub_startup_duration_seconds_count)")


def test_notebook_panels_select_the_hubs_namespace_and_dcgms_exported_labels():
    panels = _dashboards()["eaf-notebooks.json"]["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert all('namespace="jupyterhub"' in e for e in exprs)
    assert all("exported_pod" in e for e in exprs if "DCGM_" in e)
    assert not any("${" in t["expr"] for d in _dashboards().values() for p in d["panels"] for t in p["targets"])


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_each_app_with_rules_has_them_in_its_own_namespace(stack):
    rules = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in manifests_for(stack)
             if m["kind"] == "PrometheusRule"}
    assert rules == {("jupyterhub", "eaf-jupyterhub-rules"), ("triton", "eaf-triton-rules"),
                     ("nvidia-gpu-operator", "eaf-gpu-operator-rules")}


def test_dashboard_panels_do_not_overlap_and_all_query_thanos():
    for name, dashboard in _dashboards().items():
        cells = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in dashboard["panels"]]
        assert len(cells) == len(set(cells)), f"{name}: overlapping panels"
        assert all(p["datasource"]["uid"] == "thanos-querier" for p in dashboard["panels"]), name


def test_grafana_reads_thanos_with_a_token_file_not_a_literal():
    data = named(manifests_for("dev"), "ConfigMap", "grafana-provisioning", "eaf-monitoring")["data"]
    source = yaml.safe_load(data["datasources.yaml"])["datasources"][0]
    assert source["url"] == "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091"
    assert source["secureJsonData"]["httpHeaderValue1"] == "Bearer $__file{/var/run/secrets/grafana/token}"
    binding = named(manifests_for("dev"), "ClusterRoleBinding", "eaf-grafana-monitoring-view")
    assert binding["roleRef"]["name"] == "cluster-monitoring-view"

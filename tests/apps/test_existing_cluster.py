"""Apps-only mode (eaf:existingCluster): the apps layer alone, onto a cluster given by kubeconfig.

The same objects as on the stack's own cluster for an OKD one; on a plain Kubernetes the OKD-only kinds mapped
(Route -> Ingress) or left out with the reason the output names; never a VM, a network or an install step; and a
stack that made VMs cannot switch (its next update would delete them).
"""

from __future__ import annotations

import pytest
import yaml

from infra.apps.platform import route_as_ingress
from infra.spec.errors import ConfigError
from tests.apps.manifests import _manifest, apps_resources, run_for
from tests.harness import run_stack

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "admin",
    "contexts": [{"name": "admin", "context": {"cluster": "facility", "user": "admin"}}],
    "clusters": [{"name": "facility", "cluster": {"server": "https://api.facility.example.org:6443"}}],
    "users": [{"name": "admin", "user": {"token": "token-of-the-existing-cluster"}}]})
APPS_ONLY_SECRETS = {"existingClusterKubeconfig": KUBECONFIG, "pullSecret": None, "sshPublicKeys": None}
KUBERNETES = {"existingCluster": {"platform": "kubernetes", "ingressClass": "nginx"}}
OKD = {"existingCluster": {"platform": "okd"}}


def apps_only(stack: str, overrides: dict, previous_outputs: dict | None = None):
    return run_stack(stack, overrides=overrides, secrets=APPS_ONLY_SECRETS, previous_outputs=previous_outputs)


def kinds(run) -> set[str]:
    return {_manifest(r)["kind"] for r in apps_resources(run)}


def test_apps_only_registers_the_apps_and_nothing_below_them():
    run = apps_only("dev", KUBERNETES)
    below = sorted({r.type for r in run.resources
                    if not r.type.startswith(("kubernetes:", "eaf:apps:", "pulumi:providers:kubernetes"))})
    assert below == []
    assert "ignitionSha256" not in run.outputs and "kubeconfig" not in run.outputs


@pytest.mark.parametrize("stack", ["dev", "prod-b"])
def test_on_an_okd_cluster_the_apps_are_exactly_those_of_the_stacks_own_cluster(stack):
    own = sorted((r.type, r.name) for r in apps_resources(run_for(stack)))
    assert sorted((r.type, r.name) for r in apps_resources(apps_only(stack, OKD))) == own


def test_on_kubernetes_each_route_becomes_an_ingress_of_the_stacks_class_for_the_same_host():
    own_routes = {_manifest(r)["spec"]["host"]: _manifest(r) for r in apps_resources(run_for("dev"))
                  if _manifest(r)["kind"] == "Route"}
    ingresses = [_manifest(r) for r in apps_resources(apps_only("dev", KUBERNETES))
                 if _manifest(r)["kind"] == "Ingress"]
    assert own_routes and sorted(i["spec"]["rules"][0]["host"] for i in ingresses) == sorted(own_routes)
    for ingress in ingresses:
        host = ingress["spec"]["rules"][0]["host"]
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["tls"] == [{"hosts": [host]}]
        assert backend == {"name": own_routes[host]["spec"]["to"]["name"],
                           "port": {"name": own_routes[host]["spec"]["port"]["targetPort"]}}


def test_on_kubernetes_no_okd_only_kind_is_registered():
    assert kinds(apps_only("dev", KUBERNETES)) & {"Route", "SecurityContextConstraints", "Subscription",
                                                 "OperatorGroup", "MachineConfig", "ClusterPolicy",
                                                 "NodeFeatureDiscovery", "KedaController"} == set()


def test_on_kubernetes_the_output_names_what_was_left_out_and_why():
    left = apps_only("dev", KUBERNETES).outputs["existingCluster"]["leftOut"]
    assert any(line.startswith("app gpuOperator") and "NVIDIA's Helm chart" in line for line in left)
    assert any(line.startswith("triton's olm") for line in left)
    assert any(line.startswith("2 MachineConfig:") for line in left)


def test_the_kubeconfig_stays_a_secret_and_the_api_url_is_its_server():
    run = apps_only("prod-b", OKD)
    provider = run.of_type("pulumi:providers:kubernetes")
    assert len(provider) == 1
    assert run.outputs["apiUrl"] == "https://api.facility.example.org:6443" and "apiUrl" not in run.secret_outputs
    assert "token-of-the-existing-cluster" not in repr(run.outputs)


def test_a_stack_whose_last_update_made_vms_cannot_switch_to_apps_only():
    with pytest.raises(ConfigError) as raised:
        apps_only("prod-b", OKD, previous_outputs={"ignitionSha256": {f"w-{i}": "0" * 64 for i in range(7)}})
    message = str(raised.value)
    assert "made 7 VMs (w-0, w-1, w-2, w-3, w-4 and 2 more)" in message and "would delete them all" in message
    assert "pulumi stack init" in message


def test_a_route_annotation_of_the_okd_router_does_not_follow_it_to_the_ingress():
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route",
             "metadata": {"name": "hub", "namespace": "jupyterhub",
                          "annotations": {"haproxy.router.openshift.io/timeout": "1h", "example.org/owner": "eaf"}},
             "spec": {"host": "hub.example.org", "to": {"kind": "Service", "name": "proxy-public"},
                      "port": {"targetPort": "http"}}}
    assert route_as_ingress(route, "nginx")["metadata"]["annotations"] == {"example.org/owner": "eaf"}


def test_on_kubernetes_an_ingress_for_okds_router_goes_to_the_stacks_class_with_its_certificate():
    ingresses = [_manifest(r) for r in apps_resources(apps_only("prod-b", KUBERNETES))
                 if _manifest(r)["kind"] == "Ingress"]
    own = {_manifest(r)["metadata"]["name"]: _manifest(r) for r in apps_resources(run_for("prod-b"))
           if _manifest(r)["kind"] == "Ingress"}
    assert own, "prod-b exposes facility names through Ingresses with their own certificates"
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert "route.openshift.io/termination" not in ingress["metadata"].get("annotations", {})
        if ingress["metadata"]["name"] in own:
            assert ingress["spec"]["tls"] == own[ingress["metadata"]["name"]]["spec"]["tls"]

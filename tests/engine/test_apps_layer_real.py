"""The apps layer of a stack applied by the real engine and the real Kubernetes provider plugin to a real
etcd + kube-apiserver (tests/support/apiserver.py), one stack at a time, each on a fresh server.

The program is the stack's own apps path (tests/engine/apps_layer_program.py: load_spec -> plan_apps -> deploy_apps)
with the kubeconfig swapped for the test server's. `pulumi up` must create every object the apps layer registers
(as the mock harness lists them, tests/apps/manifests.py) and apply the GPU workers' Node label patches;
`pulumi preview --expect-no-changes` must then be clean; `pulumi destroy` must leave no object behind and take the
labels off the Nodes. Everything is checked against the server with kubectl.

JupyterHub and Dask Gateway are their upstream charts (helm.v4.Chart): the stack config points
`eaf:apps.charts.archives` at ../shared/charts, so the plugin renders the published archives (sha256-checked first);
every object the charts rendered (read from the stack's state) must be on the server after `up` and gone after
`destroy`. Their content is read back from the server, not from our inputs: the hub's values.yaml in the chart's
hub Secret (profiles, groups, limits, mounts, scratch, storage, culler, login), the chart's own hub config, the
gateway's config and token, every rendered pod template against restricted-v2 (nonroot-v2 for the one grant), the
ServiceMonitor/PodMonitor against the rendered Service/pods.

OKD's and the operators' kinds (Route, Subscription, OperatorGroup, ServiceMonitor, KEDA, ClusterPolicy,
NodeFeatureDiscovery) are served by their real upstream CRDs (scripts/build-crds.sh, tests/support/crds.py),
installed into the server before `up`. A kind whose CRD could not be built (its module refused by the Go proxy) is
left out of the program, and `test_no_kind_is_left_out` fails naming the module. The server runs no controllers,
so the program applies with `await_objects=False` (README "Engine notes"): nothing would ever become ready, and
foreground deletion would wait for a garbage collector. For the same reason a deleted Namespace stays `Terminating`
(no namespace controller empties and finalises it): destroy must leave each of the stack's namespaces empty and
Terminating.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import yaml

from infra.paths import PROJECT_DIR
from infra.spec.layering import read_stack_file
from tests.apiserver.apps_on_server import create_node, create_platform_namespaces, planned_nodes
from tests.apps.manifests import OKD_OR_OPERATOR_GROUPS, manifests_for, patches_for
from tests.harness import TEST_SECRETS
from tests.support.apiserver import LocalApiServer, report_line
from tests.support.crds import GroupVersionKind, MissingCrdBuildError, UpstreamCrds, install, upstream_crds
from tests.support.engine import TOOLS_BIN, engine_env, install_kubernetes_plugin, missing_kubernetes_plugin

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACKS = ("dev", "prod-a", "prod-b")
STEP_TIMEOUT_S = 900
PROGRAM = "from tests.engine.apps_layer_program import main\n\nmain()\n"
# The VO-catalog edit: one more server option for CMS, as a stack adds one (eaf:apps.jupyterhub.extraProfiles).
EXTRA_PROFILE = {"slug": "cms-big-memory", "displayName": "CMS: COFFEA-Dask, 64 GB", "flavour": "coffea-dask",
                 "groups": ["cms"], "compute": {"cpu": {"request": 2, "limit": 8},
                                                "memoryGiB": {"request": 16, "limit": 64}}}
# What that edit may touch, all rendered by the jupyterhub chart: the hub Secret (its values.yaml holds the profile
# list), the hub ConfigMap (its checksum of the images the profiles use) and the hub Deployment (its checksum
# annotations roll it). In place: the provider updates ConfigMaps and Secrets rather than replacing them.
EDITED = {("update", "kubernetes:core/v1:Secret", "jupyterhub:jupyterhub/hub"),
          ("update", "kubernetes:core/v1:ConfigMap", "jupyterhub:jupyterhub/hub"),
          ("update", "kubernetes:apps/v1:Deployment", "jupyterhub:jupyterhub/hub")}
# The published chart archives (../shared/charts, beside the repository): the stack renders them, sha256-checked.
CHART_ARCHIVES = "../shared/charts"
CHART_TYPE = "kubernetes:helm.sh/v4:Chart"

# (group, kind, namespace, name): how an object is told apart on the server, whatever version it is served at.
ObjectKey = tuple[str, str, str, str]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _key(obj: dict) -> ObjectKey:
    return (_group(obj["apiVersion"]), obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _kubectl(server: LocalApiServer, *args: str) -> subprocess.CompletedProcess:
    # Discovery is cached inside the server's own directory: the tests' kubectl never writes to ~/.kube.
    return subprocess.run([str(TOOLS_BIN / "kubectl"), "--kubeconfig", str(server.kubeconfig_path),
                           "--cache-dir", str(server.kubeconfig_path.parent / "kubectl-cache"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _on_server(server: LocalApiServer, kinds: set[tuple[str, str]]) -> dict[ObjectKey, dict]:
    """Every object of these (apiVersion, kind)s the server holds; a kind it no longer serves has none."""
    found: dict[ObjectKey, dict] = {}
    for api_version, kind in sorted(kinds):
        group, _, version = api_version.rpartition("/")
        resource = f"{kind.lower()}.{version}.{group}" if group else kind.lower()
        listed = _kubectl(server, "get", resource, "--all-namespaces", "-o", "json")
        if listed.returncode != 0:
            # A custom resource's kind goes with its CRD (destroy deletes both).
            if ("doesn't have a resource type" in listed.stderr
                    or "could not find the requested resource" in listed.stderr):
                continue
            raise AssertionError(f"kubectl get {resource} failed: {listed.stderr}")
        for item in json.loads(listed.stdout)["items"]:
            found[_key(item)] = item
    return found


def _node_labels(server: LocalApiServer, names: list[str]) -> dict[str, dict[str, str]]:
    labels = {}
    for name in names:
        got = _kubectl(server, "get", "node", name, "-o", "json")
        assert got.returncode == 0, got.stderr
        labels[name] = json.loads(got.stdout)["metadata"].get("labels", {})
    return labels


@dataclass
class AppsRun:
    stack: str
    expected: list[dict]
    left_out: list[dict]
    patches: list[dict]
    missing: str | None = None
    unbuilt: list[str] = field(default_factory=list)  # why each left-out kind has no CRD
    crd_rejections: list[str] = field(default_factory=list)
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    after_up: dict[ObjectKey, dict] = field(default_factory=dict)
    after_edit: dict[ObjectKey, dict] = field(default_factory=dict)
    after_destroy: dict[ObjectKey, dict] = field(default_factory=dict)
    labels_after_up: dict[str, dict[str, str]] = field(default_factory=dict)
    labels_after_destroy: dict[str, dict[str, str]] = field(default_factory=dict)
    chart_objects: list[dict] = field(default_factory=list)  # (apiVersion, kind, metadata) of each rendered object

    def step(self, name: str) -> subprocess.CompletedProcess:
        """The named step, failing the calling test when it did not run or did not succeed."""
        if self.missing:
            pytest.fail(self.missing, pytrace=False)
        if name not in self.steps:
            pytest.fail(f"{self.stack}: step {name!r} did not run; ran: {', '.join(self.steps) or 'none'}",
                        pytrace=False)
        completed = self.steps[name]
        if completed.returncode != 0:
            pytest.fail(f"{self.stack}: step {name!r} exited {completed.returncode}:\n"
                        f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}", pytrace=False)
        return completed

    def summary(self) -> str:
        kinds = sorted({f"{m['kind']}.{_group(m['apiVersion'])}" for m in self.left_out})
        times = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.seconds.items())
        return (f"[apps layer, real engine] {self.stack}: {len(self.expected)} objects, {len(self.chart_objects)} "
                f"rendered by the charts and {len(self.patches)} Node patch(es) applied; left out (no upstream CRD "
                f"built): {len(self.left_out)} ({', '.join(kinds)}); {times}")


def _chart_objects(exported: dict) -> list[dict]:
    """apiVersion, kind and metadata of every object a Chart component rendered, from the stack's state."""
    resources = exported["deployment"].get("resources", [])
    charts = {r["urn"]: r["urn"].split("::")[-1] for r in resources if r["type"] == CHART_TYPE}
    found = []
    for resource in resources:
        if resource.get("parent") in charts and resource["type"].startswith("kubernetes:"):
            outputs = resource.get("outputs", {})
            metadata = outputs.get("metadata", {})
            where = {"namespace": metadata["namespace"]} if metadata.get("namespace") else {}
            found.append({"apiVersion": outputs["apiVersion"], "kind": outputs["kind"],
                          "chart": charts[resource["parent"]], "metadata": {"name": metadata["name"], **where}})
    return sorted(found, key=lambda m: (m["chart"], m["kind"], m["metadata"].get("namespace", ""),
                                        m["metadata"]["name"]))


def _add_extra_profile(stack_file) -> None:
    """Edit the stack file as an engineer would: the stack's hub offers one more profile."""
    document = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
    hub = document["config"].setdefault("eaf:apps", {}).setdefault("jupyterhub", {})
    hub["extraProfiles"] = [*hub.get("extraProfiles", []), EXTRA_PROFILE]
    stack_file.write_text(yaml.safe_dump(document, sort_keys=True), encoding="utf-8")


def _served(manifest: dict, crds: UpstreamCrds) -> bool:
    """Whether the test server serves the manifest's kind: built in, the project's own CRD, or an upstream CRD built."""
    group, _, version = manifest["apiVersion"].rpartition("/")
    if group not in OKD_OR_OPERATOR_GROUPS:
        return True
    return crds.crd_for(GroupVersionKind(group, version, manifest["kind"])) is not None


def _expected_labels(patches: list[dict]) -> dict[str, dict[str, str]]:
    return {p["metadata"]["name"]: p["metadata"]["labels"] for p in patches}


@pytest.fixture(scope="module", params=STACKS)
def apps_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppsRun]:
    stack = request.param
    manifests = manifests_for(stack)
    try:
        crds = upstream_crds()
    except MissingCrdBuildError as error:
        yield AppsRun(stack=stack, expected=manifests, left_out=[], patches=[], missing=str(error))
        return
    left_out = [m for m in manifests if not _served(m, crds)]
    result = AppsRun(stack=stack, expected=[m for m in manifests if _served(m, crds)], left_out=left_out,
                     patches=patches_for(stack), unbuilt=[str(m) for m in crds.missing()])
    result.missing = missing_kubernetes_plugin()
    if result.missing:
        yield result
        return
    work = tmp_path_factory.mktemp(f"apps-layer-{stack}")
    project = work / "project"
    project.mkdir()
    (work / "state").mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf-apps-layer\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    # The stack's own `eaf:` config, as in its stack file; its secrets are the harness' test-only values.
    own = {f"eaf:{key}": value for key, value in read_stack_file(PROJECT_DIR, stack).items()}
    own["eaf:apps"] = {**own.get("eaf:apps", {}), "charts": {"archives": CHART_ARCHIVES}}
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": own}, sort_keys=True),
                                                  encoding="utf-8")
    env = engine_env(work, f"apps-layer-{stack}", import_project=True)
    result.missing = install_kubernetes_plugin(env)
    if result.missing:
        yield result
        return

    def run(name: str, *args: str, stdin: str | None = None) -> bool:
        started = time.monotonic()
        result.steps[name] = subprocess.run([str(TOOLS_BIN / "pulumi"), *args, "--stack", stack, "--non-interactive"],
                                            cwd=project, env=env, input=stdin, capture_output=True, text=True,
                                            timeout=STEP_TIMEOUT_S, check=False)
        result.seconds[name] = time.monotonic() - started
        return result.steps[name].returncode == 0

    with LocalApiServer() as server:
        client = server.api_client()
        result.crd_rejections = [str(r) for r in install(client, crds)]
        create_platform_namespaces(client)
        nodes = planned_nodes(stack)
        for node in nodes:
            create_node(client, node)
        client.close()
        node_names = sorted(_expected_labels(result.patches))
        kinds = {(m["apiVersion"], m["kind"]) for m in result.expected}
        ready = run("stack init", "stack", "init")
        ready = ready and run("config kubeconfig", "config", "set", "--secret", "kubeconfig",
                              stdin=server.kubeconfig_path.read_text(encoding="utf-8"))
        ready = ready and run("config left out", "config", "set", "leftOutKinds",
                              json.dumps(sorted({f"{m['apiVersion']} {m['kind']}" for m in left_out})))
        for key, value in TEST_SECRETS.items():
            ready = ready and run(f"config {key}", "config", "set", "--secret", f"eaf:{key}", stdin=value)
        try:
            if ready and run("up", "up", "--yes", "--skip-preview"):
                if run("export", "stack", "export"):
                    result.chart_objects = _chart_objects(json.loads(result.steps["export"].stdout))
                kinds |= {(m["apiVersion"], m["kind"]) for m in result.chart_objects}
                result.after_up = _on_server(server, kinds)
                result.labels_after_up = _node_labels(server, node_names)
                run("preview unchanged", "preview", "--expect-no-changes")
                _add_extra_profile(project / f"Pulumi.{stack}.yaml")
                if run("preview edit", "preview", "--json") and run("up edit", "up", "--yes", "--skip-preview"):
                    result.after_edit = _on_server(server, kinds)
        finally:
            if ready:
                run("destroy", "destroy", "--yes", "--skip-preview")
                result.after_destroy = _on_server(server, kinds)
                result.labels_after_destroy = _node_labels(server, node_names)
        report_line(request.config, "\n" + result.summary())
        yield result


def test_no_kind_is_left_out(apps_run: AppsRun) -> None:
    if apps_run.missing:
        pytest.fail(apps_run.missing, pytrace=False)
    assert apps_run.left_out == [], (f"{apps_run.stack}: {len(apps_run.left_out)} objects not applied, no CRD for "
                                     f"their kinds: {apps_run.unbuilt}")


def test_the_server_accepts_every_upstream_crd(apps_run: AppsRun) -> None:
    if apps_run.missing:
        pytest.fail(apps_run.missing, pytrace=False)
    assert apps_run.crd_rejections == [], apps_run.crd_rejections


def test_up_creates_every_object_of_the_apps_layer_on_the_server(apps_run: AppsRun) -> None:
    apps_run.step("up")
    missing = sorted({_key(m) for m in apps_run.expected} - set(apps_run.after_up))
    assert missing == [], f"{apps_run.stack}: not on the server after up: {missing}"


def test_up_applies_the_gpu_workers_node_labels(apps_run: AppsRun) -> None:
    apps_run.step("up")
    for node, labels in _expected_labels(apps_run.patches).items():
        assert labels.items() <= apps_run.labels_after_up[node].items(), node


def test_up_stores_the_objects_as_the_apps_layer_built_them(apps_run: AppsRun) -> None:
    apps_run.step("up")
    config_maps = [m for m in apps_run.expected if m["kind"] == "ConfigMap"]
    assert config_maps, f"{apps_run.stack} has no ConfigMap to compare"
    for manifest in config_maps:
        assert apps_run.after_up[_key(manifest)].get("data") == manifest.get("data"), _key(manifest)


def test_preview_after_up_expects_no_changes(apps_run: AppsRun) -> None:
    # --expect-no-changes turns any pending change into a non-zero exit, which step() reports.
    apps_run.step("preview unchanged")


def test_a_vo_catalog_edit_previews_as_the_hubs_secret_config_and_deployment_only(apps_run: AppsRun) -> None:
    preview = json.loads(apps_run.step("preview edit").stdout)
    changed = {(step["op"], step["urn"].split("::")[-2].split("$")[-1], step["urn"].split("::")[-1])
               for step in preview["steps"] if step["op"] != "same"}
    assert changed == EDITED, f"{apps_run.stack}: {sorted(changed)}"


def _hub_values(objects: dict[ObjectKey, dict]) -> dict:
    """The values the hub reads: values.yaml of the chart's hub Secret, as the server stores it."""
    secret = objects[("", "Secret", "jupyterhub", "hub")]
    return yaml.safe_load(base64.b64decode(secret["data"]["values.yaml"]))


def test_the_edit_applies_and_the_server_offers_the_new_profile(apps_run: AppsRun) -> None:
    apps_run.step("up edit")
    profiles = _hub_values(apps_run.after_edit)["singleuser"]["profileList"]
    assert EXTRA_PROFILE["slug"] in {p["slug"] for p in profiles}
    before = apps_run.after_up[("", "Secret", "jupyterhub", "hub")]["metadata"]["uid"]
    assert apps_run.after_edit[("", "Secret", "jupyterhub", "hub")]["metadata"]["uid"] == before, (
        "the hub Secret is updated in place, not replaced")


def _rendered(apps_run: AppsRun, chart: str) -> list[dict]:
    apps_run.step("export")
    return [m for m in apps_run.chart_objects if m["chart"] == chart]


def test_both_charts_render_their_workloads_and_nothing_okd_does_not_need(apps_run: AppsRun) -> None:
    hub = {(m["kind"], m["metadata"]["name"]) for m in _rendered(apps_run, "jupyterhub")}
    gateway = {(m["kind"], m["metadata"]["name"]) for m in _rendered(apps_run, "dask-gateway")}
    assert {("Deployment", "hub"), ("Deployment", "proxy"), ("Service", "proxy-public"), ("Secret", "hub"),
            ("ConfigMap", "hub"), ("PersistentVolumeClaim", "hub-db-dir")} <= hub, sorted(hub)
    assert not {kind for kind, _ in hub} & {"DaemonSet", "StatefulSet", "PriorityClass", "Job", "Ingress"}, sorted(hub)
    assert {("Deployment", "api-dask-gateway"), ("Deployment", "controller-dask-gateway"),
            ("Deployment", "traefik-dask-gateway"), ("Service", "traefik-dask-gateway"),
            ("CustomResourceDefinition", "daskclusters.gateway.dask.org"),
            ("CustomResourceDefinition", "ingressroutes.traefik.io")} <= gateway, sorted(gateway)


def test_up_creates_every_object_the_charts_rendered_on_the_server(apps_run: AppsRun) -> None:
    apps_run.step("up")
    assert apps_run.chart_objects, f"{apps_run.stack}: the charts rendered nothing"
    missing = sorted({_key(m) for m in apps_run.chart_objects} - set(apps_run.after_up))
    assert missing == [], f"{apps_run.stack}: rendered but not on the server: {missing}"


def _pod_specs(obj: dict) -> list[tuple[str, dict]]:
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return [(obj["metadata"]["name"], spec)]
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template")
    return [(obj["metadata"]["name"], template["spec"])] if template else []


# The ServiceAccount the stack grants `nonroot-v2` (infra/apps/dask_gateway.py): the chart's Traefik has a fixed UID.
NONROOT_GRANTED = {("dask-gateway", "traefik-dask-gateway")}


def test_every_pod_the_charts_render_is_admitted_under_restricted_v2(apps_run: AppsRun) -> None:
    """restricted-v2: no UID, GID or fsGroup of its own (the SCC assigns the namespace's), no privilege, no host
    namespaces, paths or ports; nonroot-v2 (the one grant) allows a fixed non-root UID, nothing more."""
    apps_run.step("up")
    checked = 0
    for rendered in apps_run.chart_objects:
        obj = apps_run.after_up[_key(rendered)]
        for name, spec in _pod_specs(obj):
            checked += 1
            namespace = obj["metadata"]["namespace"]
            nonroot = (namespace, spec.get("serviceAccountName")) in NONROOT_GRANTED
            pod = spec.get("securityContext", {})
            assert not {"runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"} & pod.keys(), (name, pod)
            assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), name
            assert not [v for v in spec.get("volumes", []) if "hostPath" in v], name
            for container in spec.get("containers", []) + spec.get("initContainers", []):
                context = container.get("securityContext", {})
                fixed = {"runAsUser", "runAsGroup"} & context.keys()
                assert not fixed or (nonroot and context.get("runAsUser", 1) > 0), (name, container["name"], context)
                assert not context.get("privileged") and not context.get("allowPrivilegeEscalation"), (name, context)
                assert not context.get("capabilities", {}).get("add"), (name, context)
                assert not [p for p in container.get("ports", []) if "hostPort" in p], (name, container["name"])
    assert checked >= 5, f"{apps_run.stack}: only {checked} pod templates rendered"


def test_the_rendered_hub_offers_the_vo_catalog_with_limits_mounts_and_scratch(apps_run: AppsRun) -> None:
    apps_run.step("up")
    values = _hub_values(apps_run.after_up)
    profiles = {p["slug"]: p for p in values["singleuser"]["profileList"]}
    assert {"cms-coffea-cpu", "dune-larsoft-cpu", "astro-lsst-cpu"} <= profiles.keys(), sorted(profiles)
    for slug, profile in profiles.items():
        override = profile["kubespawner_override"]
        assert profile["groups"], slug
        assert 0 < override["cpu_guarantee"] <= override["cpu_limit"], slug
        volumes = {v["name"]: v for v in override["volumes"]}
        assert volumes["home"]["persistentVolumeClaim"]["claimName"] == "claim-{username}", slug
        gpu = "extra_resource_limits" in override
        assert ("scratch" in volumes) == gpu, slug
        if gpu:
            claim = volumes["scratch"]["ephemeral"]["volumeClaimTemplate"]["spec"]
            assert claim["resources"]["requests"]["storage"] == "40Gi", slug
    cms = {m["mountPath"] for m in profiles["cms-coffea-cpu"]["kubespawner_override"]["volume_mounts"]}
    assert {"/cvmfs/cms.cern.ch", "/home/jovyan"} <= cms, sorted(cms)
    storage = values["singleuser"]["storage"]
    assert (storage["capacity"], storage["dynamic"]["pvcNameTemplate"]) == ("25Gi", "claim-{username}")
    assert values["hub"]["allowNamedServers"] is True and values["hub"]["namedServerLimitPerUser"] == 4
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] == 3600
    assert values["hub"]["authenticatePrometheus"] is True
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert "eaf-profiles-by-group" in values["hub"]["extraConfig"]
    assert "fsGroup" not in values["hub"]["podSecurityContext"], "the OKD unset reached Helm"


def test_the_rendered_hub_config_is_the_charts_own(apps_run: AppsRun) -> None:
    apps_run.step("up")
    files = apps_run.after_up[("", "ConfigMap", "jupyterhub", "hub")]["data"]
    assert {"jupyterhub_config.py", "z2jh.py"} <= files.keys()
    assert "from z2jh import" in files["jupyterhub_config.py"]


def test_the_rendered_gateway_authenticates_through_the_hub_with_per_group_limits(apps_run: AppsRun) -> None:
    apps_run.step("up")
    config = apps_run.after_up[("", "ConfigMap", "dask-gateway", "api-dask-gateway")]["data"]["dask_gateway_config.py"]
    # The chart hands its config the values as a JSON string literal (_PROPERTIES), the API token left out.
    literal = re.search(r"^_PROPERTIES = json.loads\((.*)\)$", config, flags=re.MULTILINE)
    assert literal is not None, config[:400]
    auth = json.loads(json.loads(literal.group(1)))["gateway"]["auth"]
    assert auth["type"] == "jupyterhub" and "apiToken" not in auth["jupyterhub"]
    assert auth["jupyterhub"]["apiUrl"] == "http://hub.jupyterhub.svc:8081/hub/api"
    assert "GROUP_LIMITS = {'accel-ai'" in config and "'cluster_max_cores': 200.0" in config
    secret = apps_run.after_up[("", "Secret", "dask-gateway", "api-dask-gateway")]
    hub = apps_run.after_up[("", "Secret", "jupyterhub", "hub")]
    assert secret["data"]["jupyterhub-api-token"] == hub["data"]["hub.services.dask-gateway.apiToken"], (
        "the gateway and the hub hold the same service token")


def test_no_route_exposes_the_gateway_and_the_hubs_route_goes_to_the_proxy(apps_run: AppsRun) -> None:
    apps_run.step("up")
    routes = [obj for key, obj in apps_run.after_up.items() if key[1] == "Route"]
    assert not [r for r in routes if r["metadata"]["namespace"] == "dask-gateway"]
    hub = apps_run.after_up[("route.openshift.io", "Route", "jupyterhub", "jupyterhub")]
    assert hub["spec"]["to"]["name"] == "proxy-public" and "path" not in hub["spec"]
    assert ("", "Service", "jupyterhub", "proxy-public") in apps_run.after_up


def test_the_monitors_select_the_charts_hub_service_and_gateway_pods(apps_run: AppsRun) -> None:
    apps_run.step("up")
    objects = apps_run.after_up
    monitor = objects[("monitoring.coreos.com", "ServiceMonitor", "jupyterhub", "hub")]
    service = objects[("", "Service", "jupyterhub", "hub")]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    secret = objects[("", "Secret", "jupyterhub", "hub")]
    assert monitor["spec"]["endpoints"][0]["bearerTokenSecret"]["key"] in secret["data"]
    pods = objects[("monitoring.coreos.com", "PodMonitor", "dask-gateway", "api")]
    template = objects[("apps", "Deployment", "dask-gateway", "api-dask-gateway")]["spec"]["template"]
    assert pods["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    ports = {p.get("name") for c in template["spec"]["containers"] for p in c.get("ports", [])}
    assert pods["spec"]["podMetricsEndpoints"][0]["port"] in ports


def test_destroy_deletes_every_object_the_charts_rendered(apps_run: AppsRun) -> None:
    apps_run.step("destroy")
    left = sorted(_key(m) for m in apps_run.chart_objects if _key(m) in apps_run.after_destroy)
    assert left == [], f"{apps_run.stack}: rendered objects still on the server after destroy: {left}"


def test_destroy_deletes_every_object_but_the_namespaces(apps_run: AppsRun) -> None:
    apps_run.step("destroy")
    left = sorted(key for key in apps_run.after_destroy if key[1] != "Namespace"
                  and key in {_key(m) for m in apps_run.expected})
    assert left == [], f"{apps_run.stack}: still on the server after destroy: {left}"


def test_destroy_leaves_each_namespace_empty_and_terminating(apps_run: AppsRun) -> None:
    apps_run.step("destroy")
    own = [m for m in apps_run.expected if m["kind"] == "Namespace"]
    assert own
    for manifest in own:
        namespace = apps_run.after_destroy.get(_key(manifest))
        assert namespace is not None and namespace["status"]["phase"] == "Terminating", _key(manifest)
    inside = sorted(key for key in apps_run.after_destroy if key[2] in {m["metadata"]["name"] for m in own})
    assert inside == [], f"{apps_run.stack}: objects left in the deleted namespaces: {inside}"


def test_destroy_takes_the_patched_labels_off_the_nodes(apps_run: AppsRun) -> None:
    apps_run.step("destroy")
    for node, labels in _expected_labels(apps_run.patches).items():
        assert not labels.keys() & apps_run.labels_after_destroy[node].keys(), node

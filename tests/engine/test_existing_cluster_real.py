"""Apps-only mode with the real engine, the real program and the real Kubernetes plugin against a real API server.

`eaf:existingCluster` on the dev stack, the kubeconfig the session's kube-apiserver (tests/support/apiserver.py)
wrote as eaf:existingClusterKubeconfig, and `pulumi preview --diff --json` of the project's own __main__.py: the
plugin dry-runs the objects against that server (server-side apply, dryRun=All; the server's own metrics count
them), with the upstream CRDs of OKD's and the operators' kinds installed (tests/support/crds.py). The preview must
plan exactly the apps' objects of the mock run of the same config, nothing below them. With a kubeconfig the
server refuses, the charts cannot be rendered (helm.v4.Chart renders against the cluster), the preview fails naming
them, and the server counts nothing. (An `up` would wait for pods
this controller-less server never runs: tests/engine/test_apps_layer_real.py applies the same objects with the
waits off.)
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from infra.paths import PROJECT_DIR
from infra.spec.layering import read_stack_file
from tests.apiserver.apps_on_server import create_namespace, namespaces_removed_afterwards, stack_namespaces
from tests.apps.manifests import PLATFORM_NAMESPACES, _manifest, apps_resources
from tests.harness import TEST_SECRETS, run_stack
from tests.support.apiserver import LocalApiServer
from tests.support.crds import upstream_crds_installed  # noqa: F401 - fixture
from tests.support.engine import TOOLS_BIN, engine_env, install_kubernetes_plugin, missing_kubernetes_plugin
from tests.support.project_copy import copy_program, declare_sandbox

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACK = "dev"
PASSPHRASE = "existing-cluster-only"
TIMEOUT_S = 900
PLATFORMS = {"okd": {"platform": "okd"}, "kubernetes": {"platform": "kubernetes", "ingressClass": "nginx"}}
APP_SECRETS = {k: v for k, v in TEST_SECRETS.items() if k not in ("pullSecret", "sshPublicKeys")}
# The published chart archives beside the repository (../shared/charts; absolute: the program runs from a copy).
CHARTS = {"charts": {"archives": str(PROJECT_DIR.parent / "shared" / "charts")}}
CHART_TYPE = "kubernetes:helm.sh/v4:Chart"


def _project(work: Path, existing: dict) -> Path:
    project = work / "project"
    project.mkdir()
    copy_program(project, extra=("Pulumi.prod.yaml",))
    stack = read_stack_file(PROJECT_DIR, STACK)
    own = {**stack, "existingCluster": existing, "apps": {**stack.get("apps", {}), **CHARTS}}
    (project / f"Pulumi.{STACK}.yaml").write_text(
        yaml.safe_dump({"config": {f"eaf:{k}": v for k, v in own.items()}}, sort_keys=True), encoding="utf-8")
    declare_sandbox(project, STACK, PASSPHRASE)
    return project


@dataclass(frozen=True)
class Preview:
    completed: subprocess.CompletedProcess
    dry_runs: dict[str, int]  # the server's dry-run requests during the preview, by status code


@pytest.fixture(scope="module")
def previewed(tmp_path_factory: pytest.TempPathFactory, kube_apiserver: LocalApiServer, kube_api_client,
              upstream_crds_installed  # noqa: F811
              ) -> Callable[[str, str], Preview]:
    """(platform, kubeconfig text) -> `pulumi preview --diff --json` of dev onto that cluster (once each), run with
    the stack's namespaces on the server, as after an update's first objects, so every object can be dry-run."""
    missing = missing_kubernetes_plugin()
    if missing:
        pytest.fail(missing, pytrace=False)
    assert upstream_crds_installed.rejections == ()
    done: dict[tuple[str, str], Preview] = {}

    def preview(platform: str, kubeconfig: str) -> Preview:
        if (platform, kubeconfig) not in done:
            done[(platform, kubeconfig)] = _preview(tmp_path_factory.mktemp(f"existing-{platform}"), platform,
                                                    kubeconfig, kube_apiserver, kube_api_client)
        return done[(platform, kubeconfig)]

    return preview


def _preview(work: Path, platform: str, kubeconfig: str, server: LocalApiServer, client) -> Preview:
    (work / "state").mkdir()
    project = _project(work, PLATFORMS[platform])
    env = engine_env(work, PASSPHRASE)
    env["PYTHONPATH"] = str(project)
    failed = install_kubernetes_plugin(env)
    if failed:
        pytest.fail(failed, pytrace=False)

    def pulumi(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(TOOLS_BIN / "pulumi"), *args, "--stack", STACK, "--non-interactive"],
                              cwd=project, env=env, input=stdin, capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)

    steps = {"stack init": pulumi("stack", "init")}
    for key, value in {**APP_SECRETS, "existingClusterKubeconfig": kubeconfig}.items():
        steps[f"config set eaf:{key}"] = pulumi("config", "set", "--secret", f"eaf:{key}", stdin=value)
    for step, completed in steps.items():
        if completed.returncode != 0:
            pytest.fail(f"{step}: {completed.stderr[-2000:]}", pytrace=False)
    _, namespaces = _dry_runnable(platform)
    with namespaces_removed_afterwards(client, namespaces):
        for name in sorted(namespaces):
            create_namespace(client, name)
        before = dry_run_requests(server)
        completed = pulumi("preview", "--diff", "--json")
        after = dry_run_requests(server)
    return Preview(completed, {code: n - before.get(code, 0) for code, n in after.items()
                               if n != before.get(code, 0)})


_REQUEST_TOTAL = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<count>[0-9.e+]+)$')


def dry_run_requests(server: LocalApiServer) -> dict[str, int]:
    """The server's own count of dry-run requests so far, by status code (its /metrics)."""
    status, text = server.get("/metrics")
    assert status == 200, f"GET /metrics: HTTP {status}"
    counts: dict[str, int] = {}
    for line in text.splitlines():
        found = _REQUEST_TOTAL.match(line)
        if found and 'dry_run="All"' in found["labels"]:
            code = re.search(r'code="([0-9]+)"', found["labels"])
            key = code.group(1) if code else "?"
            counts[key] = counts.get(key, 0) + int(float(found["count"]))
    return counts


def _accepted(counts: dict[str, int]) -> int:
    return sum(n for code, n in counts.items() if code.startswith("2"))


def _errors(stdout: str) -> list[str]:
    try:
        return [d["message"] for d in json.loads(stdout).get("diagnostics", []) if d.get("severity") == "error"]
    except ValueError:
        return []


def _steps(completed: subprocess.CompletedProcess) -> list[dict]:
    assert completed.returncode == 0, f"preview exited {completed.returncode}: {_errors(completed.stdout)}\n" \
                                      f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    return json.loads(completed.stdout)["steps"]


def _mock_run(platform: str):
    return run_stack(STACK, overrides={"existingCluster": PLATFORMS[platform], "apps": CHARTS},
                     secrets={"existingClusterKubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                              "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                              "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                              "users: [{name: u, user: {token: t}}]\n", "pullSecret": None, "sshPublicKeys": None})


def _mock_objects(platform: str) -> list[tuple[str, str]]:
    return sorted((r.type, r.name) for r in apps_resources(_mock_run(platform)))


def _dry_runnable(platform: str) -> tuple[list[dict], set[str]]:
    """The objects the plugin can dry-run before the update (not patches, not kinds of the stack's own CRDs,
    which exist only once it has run), and the namespaces they go into."""
    manifests = [_manifest(r) for r in apps_resources(_mock_run(platform)) if not r.type.endswith("Patch")]
    own_kinds = {(m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests
                 if m["kind"] == "CustomResourceDefinition"}
    runnable = [m for m in manifests if (m["apiVersion"].split("/")[0], m["kind"]) not in own_kinds]
    return runnable, stack_namespaces(manifests) | set(PLATFORM_NAMESPACES)


def _from_chart(step: dict) -> bool:
    """A Chart component or an object it rendered (the plugin renders charts; the mock run does not)."""
    return CHART_TYPE in step["urn"].split("::")[-2]


def _planned_objects(steps: list[dict]) -> list[tuple[str, str]]:
    return sorted((s["urn"].split("::")[-2].split("$")[-1], s["urn"].split("::")[-1]) for s in steps
                  if s["urn"].split("::")[-2].split("$")[-1].startswith("kubernetes:") and not _from_chart(s))


# The kinds whose CRDs the dask-gateway chart itself creates: nothing of them can be dry-run before the update.
CHART_CRD_GROUPS = ("traefik.io", "gateway.dask.org")


def _rendered_dry_runnable(steps: list[dict]) -> int:
    rendered = [s["urn"].split("::")[-2].split("$")[-1] for s in steps
                if _from_chart(s) and s["urn"].split("::")[-2].split("$")[-1] != CHART_TYPE]
    assert rendered, "the charts rendered nothing"
    return sum(1 for t in rendered if t.split(":")[1].rpartition("/")[0] not in CHART_CRD_GROUPS)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_real_preview_onto_an_existing_cluster_plans_exactly_the_apps_objects(previewed, kube_apiserver,
                                                                                  platform):
    steps = _steps(previewed(platform, kube_apiserver.kubeconfig_path.read_text()).completed)
    assert {s["op"] for s in steps} <= {"create", "same"}
    types = {s["urn"].split("::")[-2].split("$")[-1] for s in steps}
    assert sorted(t for t in types if not t.startswith(("kubernetes:", "eaf:apps:", "pulumi:"))) == []
    assert _planned_objects(steps) == _mock_objects(platform)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_server_accepts_every_object_the_preview_dry_runs(previewed, kube_apiserver, platform):
    preview = previewed(platform, kube_apiserver.kubeconfig_path.read_text())
    steps = _steps(preview.completed)
    runnable, _ = _dry_runnable(platform)
    expected = len(runnable) + _rendered_dry_runnable(steps)
    assert set(preview.dry_runs) <= {"200", "201"} and sum(preview.dry_runs.values()) == expected, \
        (preview.dry_runs, len(runnable), expected)


def test_with_a_kubeconfig_the_server_refuses_the_preview_fails_at_the_charts_and_nothing_is_dry_run(
        previewed, kube_apiserver):
    """The plugin previews plain objects without the cluster when it cannot reach it, but a helm.v4.Chart renders
    against the cluster (its API versions): the preview fails, naming the chart and why, and only the server's own
    count shows that nothing was checked there."""
    document = yaml.safe_load(kube_apiserver.kubeconfig_path.read_text())
    for user in document["users"]:
        user["user"] = {"token": "a-token-this-server-never-issued"}
    preview = previewed("okd", yaml.safe_dump(document))
    assert preview.completed.returncode != 0
    errors = _errors(preview.completed.stdout)
    assert errors and all("kubernetes:helm.sh/v4:Chart resource" in e and "cluster is unreachable" in e
                          for e in errors), errors
    assert _accepted(preview.dry_runs) == 0, preview.dry_runs

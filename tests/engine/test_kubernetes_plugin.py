"""The real Kubernetes provider plugin (scripts/build-kubernetes-plugin.sh) through the real engine, against the real
kube-apiserver of tests/support/apiserver.py.

A throw-away project (file:// backend in a pytest tmp dir, the plugin installed into its private Pulumi home)
creates a Namespace and a ConfigMap in it through an explicit provider whose kubeconfig is a secret config value:
up -> preview --expect-no-changes -> one config edit previews as an update of the ConfigMap only -> up applies it ->
destroy. Every step is checked against the server with kubectl. The lifecycle runs once per module; each test
checks one thing it recorded.

The server runs no controllers, so nothing it stores is ever finalised by anyone but the client. The program says
so explicitly on each object (see README "Engine notes"):
- `pulumi.com/deletionPropagationPolicy: background`: the provider deletes with foreground propagation by default,
  which leaves the object on the server (finalizer `foregroundDeletion`) until the garbage collector removes it;
  with no garbage collector the provider waits for 10 minutes and fails.
- `pulumi.com/skipAwait: "true"` on the Namespace: a deleted namespace stays `Terminating` until the namespace
  controller empties and finalises it. Namespace is one of the kinds whose deletion skipAwait does not wait for.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.apiserver import LocalApiServer
from tests.support.engine import (
    TOOLS_BIN,
    engine_env,
    install_kubernetes_plugin,
    missing_kubernetes_plugin,
)

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACK = "k8s"
STEP_TIMEOUT_S = 600
CONFIG_MAP = "greeting"
FIRST_GREETING = "hello from the real plugin"
SECOND_GREETING = "edited by the second up"

PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
# As infra/apps/deploy.py sets it: a ConfigMap edit updates in place (the plugin's default is a replacement).
server = k8s.Provider("test-server", kubeconfig=config.require_secret("kubeconfig"), enable_config_map_mutable=True)
# Nothing on the test server finalises objects: delete in the background, do not wait for the namespace to go.
namespace = k8s.core.v1.Namespace(
    "namespace",
    metadata={{"name": {namespace!r}, "annotations": {{"pulumi.com/skipAwait": "true",
                                                       "pulumi.com/deletionPropagationPolicy": "background"}}}},
    opts=pulumi.ResourceOptions(provider=server),
)
greeting = k8s.core.v1.ConfigMap(
    "greeting",
    metadata={{"name": {config_map!r}, "namespace": namespace.metadata.name,
               "annotations": {{"pulumi.com/deletionPropagationPolicy": "background"}}}},
    data={{"greeting": config.require("greeting")}},
    opts=pulumi.ResourceOptions(provider=server),
)
pulumi.export("config_map_uid", greeting.metadata.uid)
"""


@dataclass
class ServerObject:
    """What `kubectl get -o json` said about one object (None: not found)."""

    body: dict | None

    @property
    def exists(self) -> bool:
        return self.body is not None

    @property
    def deleting(self) -> bool:
        return self.body is not None and "deletionTimestamp" in self.body["metadata"]


@dataclass
class Lifecycle:
    namespace: str
    missing: str | None = None
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    after_up: dict[str, ServerObject] = field(default_factory=dict)
    after_update: dict[str, ServerObject] = field(default_factory=dict)
    after_destroy: dict[str, ServerObject] = field(default_factory=dict)
    outputs: dict | None = None

    def step(self, name: str) -> subprocess.CompletedProcess:
        """The named step, failing the calling test when it did not run or did not succeed."""
        if self.missing:
            pytest.fail(self.missing, pytrace=False)
        if name not in self.steps:
            pytest.fail(f"step {name!r} did not run; ran: {', '.join(self.steps) or 'none'}", pytrace=False)
        completed = self.steps[name]
        if completed.returncode != 0:
            pytest.fail(f"step {name!r} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}",
                        pytrace=False)
        return completed


def _kubectl_get(server: LocalApiServer, *what: str) -> ServerObject:
    completed = subprocess.run([str(TOOLS_BIN / "kubectl"), "--kubeconfig", str(server.kubeconfig_path), "get",
                                *what, "-o", "json"], capture_output=True, text=True, timeout=60, check=False)
    if completed.returncode == 0:
        return ServerObject(json.loads(completed.stdout))
    if "NotFound" in completed.stderr:
        return ServerObject(None)
    raise AssertionError(f"kubectl get {' '.join(what)} failed: {completed.stderr}")


def _objects(server: LocalApiServer, namespace: str) -> dict[str, ServerObject]:
    return {"namespace": _kubectl_get(server, "namespace", namespace),
            "configmap": _kubectl_get(server, "configmap", CONFIG_MAP, "-n", namespace)}


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory, kube_apiserver: LocalApiServer) -> Lifecycle:
    result = Lifecycle(namespace=f"eaf-k8splugin-{uuid.uuid4().hex[:8]}")
    result.missing = missing_kubernetes_plugin()
    if result.missing:
        return result
    work = tmp_path_factory.mktemp("kubernetes-plugin")
    project = work / "project"
    project.mkdir()
    (work / "state").mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf-kubernetes-plugin-test\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text(PROGRAM.format(namespace=result.namespace, config_map=CONFIG_MAP),
                                         encoding="utf-8")
    env = engine_env(work, "kubernetes-plugin-test")
    result.missing = install_kubernetes_plugin(env)
    if result.missing:
        return result

    def run(name: str, *args: str) -> bool:
        started = time.monotonic()
        result.steps[name] = subprocess.run([str(TOOLS_BIN / "pulumi"), *args, "--stack", STACK, "--non-interactive"],
                                            cwd=project, env=env, capture_output=True, text=True,
                                            timeout=STEP_TIMEOUT_S, check=False)
        result.seconds[name] = time.monotonic() - started
        return result.steps[name].returncode == 0

    kubeconfig = Path(kube_apiserver.kubeconfig_path).read_text(encoding="utf-8")
    ready = (run("stack init", "stack", "init")
             and run("config kubeconfig", "config", "set", "--secret", "kubeconfig", kubeconfig)
             and run("config greeting", "config", "set", "greeting", FIRST_GREETING))
    try:
        if ready and run("up", "up", "--yes"):
            result.after_up = _objects(kube_apiserver, result.namespace)
            if run("stack output", "stack", "output", "--json"):
                result.outputs = json.loads(result.steps["stack output"].stdout)
            run("preview unchanged", "preview", "--expect-no-changes")
            if run("config edit", "config", "set", "greeting", SECOND_GREETING):
                run("preview edit", "preview", "--json")
                if run("up edit", "up", "--yes"):
                    result.after_update = _objects(kube_apiserver, result.namespace)
    finally:
        if ready:
            run("destroy", "destroy", "--yes")
            result.after_destroy = _objects(kube_apiserver, result.namespace)
    print("kubernetes plugin step times: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    return result


def test_up_creates_the_namespace_and_the_config_map_on_the_server(lifecycle: Lifecycle) -> None:
    lifecycle.step("up")
    assert lifecycle.after_up["namespace"].exists
    config_map = lifecycle.after_up["configmap"].body
    assert config_map is not None
    assert config_map["data"] == {"greeting": FIRST_GREETING}


def test_up_exports_the_uid_the_server_gave_the_config_map(lifecycle: Lifecycle) -> None:
    lifecycle.step("stack output")
    assert lifecycle.outputs == {"config_map_uid": lifecycle.after_up["configmap"].body["metadata"]["uid"]}


def test_preview_after_up_expects_no_changes(lifecycle: Lifecycle) -> None:
    # --expect-no-changes turns any pending change into a non-zero exit, which step() reports.
    lifecycle.step("preview unchanged")


def test_config_edit_previews_as_an_update_of_the_config_map_only(lifecycle: Lifecycle) -> None:
    preview = json.loads(lifecycle.step("preview edit").stdout)
    changed = {(step["op"], step["urn"].split("::")[-1]) for step in preview["steps"] if step["op"] != "same"}
    assert changed == {("update", "greeting")}


def test_second_up_applies_the_edit_in_place(lifecycle: Lifecycle) -> None:
    lifecycle.step("up edit")
    config_map = lifecycle.after_update["configmap"].body
    assert config_map["data"] == {"greeting": SECOND_GREETING}
    assert config_map["metadata"]["uid"] == lifecycle.after_up["configmap"].body["metadata"]["uid"]


def test_destroy_deletes_the_config_map(lifecycle: Lifecycle) -> None:
    lifecycle.step("destroy")
    assert not lifecycle.after_destroy["configmap"].exists


def test_destroy_leaves_the_namespace_to_a_namespace_controller_the_server_does_not_run(lifecycle: Lifecycle) -> None:
    lifecycle.step("destroy")
    namespace = lifecycle.after_destroy["namespace"]
    assert namespace.deleting, namespace.body
    assert namespace.body["status"]["phase"] == "Terminating"

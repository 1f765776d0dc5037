"""Real previews, as the merge-request job runs them: `pulumi preview --diff --json` of dev, prod-a and prod-b with
the real engine, the project's dynamic providers and the real Kubernetes plugin, on this machine, which reaches none
of the stacks' hypervisors (qemu+ssh to *.fnal.gov) and no cluster. Then `preview-summary` reads those previews.

A fresh stack's preview must need no connection: the libvirt objects only check their inputs, the OKD steps run
nothing, and the Kubernetes provider's kubeconfig is unknown until the install has run (the engine previews its
objects without a server). The copy of the project lists each stack as a local sandbox in its own state.yaml: in
the repository they are `state: shared` (the team's backend, which the MR job reaches read-only); where state lives
is not what this tier is about, and the repo's file is not changed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from infra.ops.preview_summary import load_preview, render_stack
from infra.paths import PROJECT_DIR
from infra.spec.layering import read_stack_file
from infra.spec.load import load_spec
from tests.harness import TEST_SECRETS
from tests.support.engine import TOOLS_BIN, engine_env, install_kubernetes_plugin, missing_kubernetes_plugin
from tests.support.project_copy import copy_program, declare_sandbox

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACKS = ("dev", "prod-a", "prod-b")
PASSPHRASE = "real-previews-only"
STEP_TIMEOUT_S = 900
GENERIC_DYNAMIC = "pulumi-python:dynamic:Resource"


@dataclass
class RealPreview:
    stack: str
    completed: subprocess.CompletedProcess | None
    summary: str
    document: dict
    missing: str | None = None

    def check(self) -> None:
        if self.missing:
            pytest.fail(self.missing, pytrace=False)
        assert self.completed is not None and self.completed.returncode == 0, (
            f"{self.stack}: preview exited {self.completed.returncode if self.completed else '-'}\n"
            f"{self.completed.stdout[-5000:] if self.completed else ''}\n"
            f"{self.completed.stderr[-5000:] if self.completed else ''}")


def _copy_project(target, stack: str) -> None:
    copy_program(target, extra=("Pulumi.prod.yaml",))
    own = read_stack_file(PROJECT_DIR, stack)
    (target / f"Pulumi.{stack}.yaml").write_text(
        yaml.safe_dump({"config": {f"eaf:{k}": v for k, v in own.items()}}, sort_keys=True), encoding="utf-8")
    declare_sandbox(target, stack, PASSPHRASE)


@pytest.fixture(scope="module", params=STACKS)
def real_preview(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealPreview]:
    stack = request.param
    missing = missing_kubernetes_plugin()
    if missing:
        yield RealPreview(stack, None, "", {}, missing)
        return
    work = tmp_path_factory.mktemp(f"real-preview-{stack}")
    project = work / "project"
    project.mkdir()
    (work / "state").mkdir()
    _copy_project(project, stack)
    env = engine_env(work, PASSPHRASE)
    # The program and the dynamic-provider processes import infra.* from the copy (its own state.yaml).
    env["PYTHONPATH"] = str(project)
    missing = install_kubernetes_plugin(env)
    if missing:
        yield RealPreview(stack, None, "", {}, missing)
        return

    def pulumi(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(TOOLS_BIN / "pulumi"), *args, "--stack", stack, "--non-interactive"],
                              cwd=project, env=env, input=stdin, capture_output=True, text=True,
                              timeout=STEP_TIMEOUT_S, check=False)

    for step in (pulumi("stack", "init"),
                 *(pulumi("config", "set", "--secret", f"eaf:{key}", stdin=value)
                   for key, value in TEST_SECRETS.items())):
        if step.returncode != 0:
            yield RealPreview(stack, step, "", {}, f"{stack}: set-up step failed: {step.stderr[-2000:]}")
            return
    completed = pulumi("preview", "--diff", "--json")
    document: dict = {}
    summary = ""
    if completed.returncode == 0:
        path = work / f"{stack}.json"
        path.write_text(completed.stdout, encoding="utf-8")
        document = json.loads(completed.stdout)
        summary = render_stack(load_preview(stack, path))
    yield RealPreview(stack, completed, summary, document)


def _planned_nodes(stack: str) -> list[str]:
    return [n.name for n in load_spec(stack, read_stack_file(PROJECT_DIR, stack), PROJECT_DIR,
                                      check_secrets=False).plan.nodes]


def test_a_fresh_stack_previews_offline_as_creates_only(real_preview: RealPreview) -> None:
    real_preview.check()
    ops = {step["op"] for step in real_preview.document["steps"]}
    assert ops <= {"create", "same"}, f"{real_preview.stack}: {sorted(ops)}"
    assert sum(step["op"] == "create" for step in real_preview.document["steps"]) > 100


def test_the_summary_names_each_vm_as_a_libvirt_domain(real_preview: RealPreview) -> None:
    real_preview.check()
    for node in _planned_nodes(real_preview.stack):
        assert f"-domain-eaf-{real_preview.stack}-{node}` (pulumi-python:dynamic/libvirt:Domain)" in \
            real_preview.summary, f"{real_preview.stack}/{node}"


def test_the_summary_says_what_every_native_resource_is(real_preview: RealPreview) -> None:
    real_preview.check()
    assert GENERIC_DYNAMIC not in real_preview.summary
    kinds = {line.split("(pulumi-python:dynamic/libvirt:")[1].split(")")[0]
             for line in real_preview.summary.splitlines() if "(pulumi-python:dynamic/libvirt:" in line}
    assert {"Pool", "BaseImage", "Network", "Volume", "Ignition", "Domain"} <= kinds, kinds


def test_the_summary_and_the_preview_never_show_a_secret_value(real_preview: RealPreview) -> None:
    real_preview.check()
    text = real_preview.summary + real_preview.completed.stdout
    shown = [key for key, value in TEST_SECRETS.items() if value.strip() in text]
    assert shown == [], f"{real_preview.stack}: the values of {shown} appear"


def test_the_apps_objects_preview_without_a_cluster(real_preview: RealPreview) -> None:
    real_preview.check()
    kube = [step for step in real_preview.document["steps"] if step["urn"].split("::")[-2].split("$")[-1]
            .startswith("kubernetes:") and step["op"] == "create"]
    assert len(kube) >= 140, f"{real_preview.stack}: {len(kube)} Kubernetes objects previewed"


def test_the_charts_preview_as_components_rendered_on_up(real_preview: RealPreview) -> None:
    """Without a cluster (the kubeconfig is unknown until the install has run) a helm.v4.Chart cannot be rendered:
    the preview plans the component alone (its chart and version are the stack output `pins`); `up` renders it."""
    real_preview.check()
    steps = real_preview.document["steps"]
    charts = sorted(s["urn"].split("::")[-1] for s in steps
                    if s["urn"].split("::")[-2].split("$")[-1] == "kubernetes:helm.sh/v4:Chart" and s["op"] == "create")
    assert charts == ["dask-gateway", "jupyterhub"], charts
    rendered = [s["urn"] for s in steps if "kubernetes:helm.sh/v4:Chart$" in s["urn"]]
    assert rendered == [], rendered

"""What the Pulumi mocks answer for the OKD install's Command resources (infra/okd), as a real run would.

Registered with tests.harness.state_hook, imported by tests/harness.py, so every whole-program run under mocks sees
realistic stdout: the `create-ignition-configs` step answers the installer-shaped fixtures of tests/fixtures/okd
(pointer configs, bootstrap.ign: made by generate_okd_fixtures.py for eaf-dev.fnal.gov; the pointers are re-pointed
at the stack's own domain) plus a kubeconfig built from the fixture PKI and a fake kubeadmin password.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import yaml

from infra.paths import PROJECT_DIR
from tests.harness import state_hook

STEP_TYPE = "pulumi-python:dynamic/okd:Step"  # infra.okd.step_command.OkdStep

FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "okd"
FIXTURE_DOMAIN = "eaf-dev.fnal.gov"
FAKE_KUBEADMIN_PASSWORD = "FAKE1-mock2-state-not4real"  # the installer's 5-5-5-5 shape; test data only


@cache
def _fixture(name: str) -> str:
    path = FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the Ignition fixtures come from "
                                "tests/fixtures/okd/generate_okd_fixtures.py")
    return path.read_text()


def _b64(name: str) -> str:
    return base64.b64encode(_fixture(f"pki/{name}").encode()).decode("ascii")


def kubeconfig(domain: str) -> str:
    """admin kubeconfig as openshift-install writes it: the API behind the LB, the admin client cert."""
    document = {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "admin",
        "clusters": [{"name": domain.split(".")[0], "cluster": {
            "server": f"https://api.{domain}:6443",
            "certificate-authority-data": _b64("kube-apiserver-lb-signer.crt")}}],
        "contexts": [{"name": "admin", "context": {"cluster": domain.split(".")[0], "user": "admin"}}],
        "users": [{"name": "admin", "user": {"client-certificate-data": _b64("admin-kubeconfig-client.crt"),
                                             "client-key-data": _b64("admin-kubeconfig-client.key")}}],
    }
    return yaml.safe_dump(document, sort_keys=True)


def ignition_bundle(domain: str) -> dict[str, str]:
    return {
        "bootstrap.ign": _fixture("bootstrap.ign"),
        "master.ign": _fixture("master.ign").replace(FIXTURE_DOMAIN, domain),
        "worker.ign": _fixture("worker.ign").replace(FIXTURE_DOMAIN, domain),
        "auth/kubeconfig": kubeconfig(domain),
        "auth/kubeadmin-password": FAKE_KUBEADMIN_PASSWORD,
    }


def step_stdout(step: str, environment: dict[str, str]) -> str:
    """The stdout of okd_step.py STEP after a successful real run (see the step functions there)."""
    if step in ("create-ignition-configs", "read-ignition-configs"):
        return json.dumps(ignition_bundle(environment["EAF_CLUSTER_DOMAIN"]), sort_keys=True)
    answers: dict[str, Any] = {
        "fetch-installer": {"installer": f"{environment.get('EAF_WORK_DIR')}/bin/openshift-install",
                            "version": f"openshift-install {environment.get('EAF_RELEASE')}"},
        "create-manifests": {"mastersSchedulable": environment.get("EAF_MASTERS_SCHEDULABLE") == "true",
                             "removed": [], "added": []},
        "keep": {"kept": True},
        "wait-bootstrap-complete": {"bootstrapComplete": True},
        "lb-remove-bootstrap": {"disabled": ["api-server-6443", "machine-config-server-22623"]},
        "approve-csrs": {"ready": [n["name"] for n in json.loads(environment.get("EAF_PLANNED_NODES", "[]"))],
                         "approvedCsrs": [], "notApproved": []},
        "wait-install-complete": {"installComplete": True},
        "apply-cluster-settings": {"applied": [], "patched": [], "deleted": []},
    }
    return json.dumps(answers[step], sort_keys=True)


@state_hook(STEP_TYPE)
def okd_step_command(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"stdout": step_stdout(inputs["create"], inputs.get("environment") or {})}

"""Every built-in-kind manifest of the apps layer is valid against the Kubernetes schemas of OKD's Kubernetes.

kubernetes-validate ships JSON schemas per Kubernetes minor; the pinned OKD release says which one it runs
(versions.yaml okd.releases.<release>.kubernetes, v1.28 for OKD 4.15). Strict: unknown fields are errors.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.catalog import versions
from tests.apps.manifests import OKD_OR_OPERATOR_GROUPS, group_of, is_builtin, manifests_for, own_definitions
from tests.harness import DEPLOYED_STACKS


def _schema_version(stack_release: str) -> str:
    kubernetes = versions().release(stack_release).kubernetes  # e.g. v1.28.6
    minor = ".".join(kubernetes.lstrip("v").split(".")[:2])
    shipped = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert minor in shipped, f"kubernetes-validate has no schemas for Kubernetes {minor} (has {sorted(shipped)})"
    return minor


def test_schema_version_matches_the_okd_release_kubernetes():
    default = versions().okd.default
    assert _schema_version(default) == "1.28", f"OKD {default} runs Kubernetes 1.28"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_builtin_manifest_validates_strictly(stack):
    version = _schema_version(versions().okd.default)
    failures = []
    checked = 0
    for manifest in manifests_for(stack):
        if not is_builtin(manifest):
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
            checked += 1
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            failures.append(f"{manifest['kind']} {manifest['metadata'].get('namespace')}/"
                            f"{manifest['metadata']['name']}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            failures.append(f"{manifest['kind']} {manifest['metadata']['name']}: {error.message}")
    assert not failures, (f"{stack}: {len(failures)} manifest(s) invalid for Kubernetes {version}:\n"
                          + "\n".join(failures))
    assert checked >= 60, f"{stack}: only {checked} manifests validated"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_the_project_defines_no_custom_resource_kind_of_its_own(stack):
    """The kinds the apps use come with OKD, their operators or their upstream charts (the dask-gateway chart's
    crds/), never as a hand-written definition of ours that would clash with the real one."""
    assert own_definitions(manifests_for(stack)) == {}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_only_known_okd_and_operator_kinds_escape_the_schemas(stack):
    """What the schemas cannot check is a fixed, listed set: Routes, OLM objects, the operators' custom resources."""
    manifests = manifests_for(stack)
    unchecked = sorted({(group_of(m), m["kind"]) for m in manifests if not is_builtin(m)})
    certificates = [("cert-manager.io", "Certificate")] if stack != "dev" else []  # prod's facility names
    assert unchecked == [
        *certificates, ("keda.sh", "KedaController"), ("keda.sh", "ScaledObject"), ("keda.sh", "TriggerAuthentication"),
        ("machineconfiguration.openshift.io", "MachineConfig"),
        ("monitoring.coreos.com", "PodMonitor"), ("monitoring.coreos.com", "PrometheusRule"),
        ("monitoring.coreos.com", "ServiceMonitor"), ("nfd.openshift.io", "NodeFeatureDiscovery"),
        ("nvidia.com", "ClusterPolicy"), ("operators.coreos.com", "CatalogSource"),
        ("operators.coreos.com", "OperatorGroup"),
        ("operators.coreos.com", "Subscription"), ("route.openshift.io", "Route"),
        ("security.openshift.io", "SecurityContextConstraints"),
    ], f"{stack}: unexpected unchecked kinds {unchecked}"
    assert {g for g, _ in unchecked} <= set(OKD_OR_OPERATOR_GROUPS)

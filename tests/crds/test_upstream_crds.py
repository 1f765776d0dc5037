"""The upstream CRDs of every non-built-in kind the stacks use, on the real kube-apiserver (issue 24).

scripts/build-crds.sh builds them from the Go modules pinned in scripts/go/crds/sources.toml; this tier installs
them into the session's server, then for each kind the pin file promises dry-runs, with strict field validation, a
minimal object the upstream schema accepts and one it must refuse for a reason only that schema knows
(tests/crds/instances.yaml). A kind without a CRD (its module refused by the Go proxy, or never built) fails here
with the module named; nothing is skipped.

Needs .tools/bin/{etcd,kube-apiserver} (scripts/build-k8s-tools.sh) and .work/crds (scripts/build-crds.sh).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.support.apiserver import report_line
from tests.support.crds import GroupVersionKind, read_sources
from tests.support.dryrun import submit

pytestmark = pytest.mark.real

INSTANCES = yaml.safe_load((Path(__file__).parent / "instances.yaml").read_text())
PROMISED = sorted(k for s in read_sources() for k in s.kinds)


def _instance(kind: GroupVersionKind, which: str) -> dict:
    body = copy.deepcopy(INSTANCES[str(kind)][which])
    return {"apiVersion": kind.api_version, "kind": kind.kind, **body}


@pytest.fixture(scope="module")
def installed(request, upstream_crds_installed):
    report_line(request.config, f"\n{upstream_crds_installed.crds.summary()}\n[upstream CRDs] installed and "
                f"Established in {upstream_crds_installed.seconds:.1f}s")
    return upstream_crds_installed


def _crd_of(installed, kind: GroupVersionKind):
    crd = installed.crds.crd_for(kind)
    if crd is None:
        (missing,) = [m for m in installed.crds.missing() if m.kind == kind]
        pytest.fail(str(missing))
    return crd


def test_every_promised_kind_has_an_instance_pair_here():
    assert sorted(INSTANCES) == sorted(str(k) for k in PROMISED)


def test_every_built_crd_is_accepted_and_established_by_the_server(installed):
    assert installed.rejections == (), "\n".join(str(r) for r in installed.rejections)


@pytest.mark.parametrize("kind", PROMISED, ids=str)
def test_the_kind_has_its_upstream_crd(kind, installed):
    crd = _crd_of(installed, kind)
    source = installed.crds.source_of(kind)
    assert crd.source == source
    assert (crd.group, crd.kind) == (kind.group, kind.kind) and kind.version in crd.versions


@pytest.mark.parametrize("kind", PROMISED, ids=str)
def test_a_minimal_valid_object_of_the_kind_is_accepted(kind, installed, kube_api_client):
    _crd_of(installed, kind)
    rejections = submit([_instance(kind, "valid")], kube_api_client)
    assert rejections == [], "\n".join(str(r) for r in rejections)


@pytest.mark.parametrize("kind", PROMISED, ids=str)
def test_an_object_breaking_the_upstream_schema_is_refused(kind, installed, kube_api_client):
    _crd_of(installed, kind)
    rejections = submit([_instance(kind, "invalid")], kube_api_client)
    assert len(rejections) == 1, f"{kind}: the upstream schema accepted an object it must refuse"
    (rejection,) = rejections
    assert rejection.status == 422, rejection
    assert INSTANCES[str(kind)]["refused_because"] in rejection.message, rejection.message


@pytest.mark.parametrize("kind", PROMISED, ids=str)
def test_a_misspelt_field_is_refused_by_strict_validation(kind, installed, kube_api_client):
    """What catches a typo in a stack's object: the schema is structural down to the field the typo is in."""
    _crd_of(installed, kind)
    obj = _instance(kind, "valid")
    where = obj["spec"] if "spec" in obj else obj
    where["eafMisspeltField"] = True
    (rejection,) = submit([obj], kube_api_client)
    assert "unknown field" in rejection.message and "eafMisspeltField" in rejection.message, rejection.message

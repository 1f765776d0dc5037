"""How tests/support/crds.py reads a CRD build: what it covers, what it names as missing, and a stale build.

Unit tier, on a pin file and build index written here (the shapes scripts/assemble-crds.py reads and writes);
the real build and server are the real tier's (test_upstream_crds.py).
"""

from __future__ import annotations

import json

import pytest

from tests.support.crds import GroupVersionKind, MissingCrdBuildError, upstream_crds

PIN_FILE = """
schema = 1
[[set]]
name = "keda"
module = "github.com/kedacore/keda-olm-operator"
version = "v0.0.0-20240802192914-35181ac1e417"
sum = "h1:2urAYqyElPijxmiy/T9B+qf8r8DKpaZ/PWushkmtQXg="
closeness = "the keda.v2.14.0 bundle"
files = ["keda/2.14.0/manifests/keda.sh_scaledobjects.yaml", "keda/2.14.0/manifests/keda.sh_kedacontrollers.yaml"]
kinds = ["keda.sh/v1alpha1 ScaledObject", "keda.sh/v1alpha1 KedaController"]
"""
PROXY_SAYS = "reading https://proxy.golang.org/...: 403 Forbidden\n\tserver response: not available"


def _build(tmp_path, status: str, crds: list[dict], version: str = "v0.0.0-20240802192914-35181ac1e417"):
    (tmp_path / "sources.toml").write_text(PIN_FILE)
    out = tmp_path / "crds"
    out.mkdir()
    entry = {"name": "keda", "module": "github.com/kedacore/keda-olm-operator", "version": version,
             "status": status, "error": PROXY_SAYS if status == "refused" else "", "crds": crds}
    (out / "index.json").write_text(json.dumps({"schema": 1, "sets": [entry]}))
    return upstream_crds(tmp_path / "sources.toml", out)


SCALED_OBJECT = {"name": "scaledobjects.keda.sh", "group": "keda.sh", "kind": "ScaledObject",
                 "versions": ["v1alpha1"], "file": "keda.sh/scaledobjects.keda.sh.yaml"}


def test_a_kind_whose_module_the_proxy_refused_is_named_with_the_module_and_the_proxys_answer(tmp_path):
    crds = _build(tmp_path, "refused", [])
    assert crds.covered_kinds() == []
    missing = {str(m.kind): m.why for m in crds.missing()}
    assert sorted(missing) == ["keda.sh/v1alpha1 KedaController", "keda.sh/v1alpha1 ScaledObject"]
    for why in missing.values():
        assert "the Go module proxy refused github.com/kedacore/keda-olm-operator@v0.0.0-20240802192914" in why
        assert "403 Forbidden" in why


def test_a_kind_the_build_did_not_make_is_missing_and_the_others_are_covered(tmp_path):
    crds = _build(tmp_path, "ok", [SCALED_OBJECT])
    assert crds.covered_kinds() == [GroupVersionKind("keda.sh", "v1alpha1", "ScaledObject")]
    (missing,) = crds.missing()
    assert str(missing.kind) == "keda.sh/v1alpha1 KedaController"
    assert "run scripts/build-crds.sh" in missing.why


def test_a_crd_serving_another_version_does_not_cover_the_kind(tmp_path):
    crds = _build(tmp_path, "ok", [{**SCALED_OBJECT, "versions": ["v1beta1"]}])
    assert GroupVersionKind("keda.sh", "v1alpha1", "ScaledObject") not in crds.covered_kinds()


def test_a_build_of_another_pin_is_refused_as_stale(tmp_path):
    with pytest.raises(MissingCrdBuildError, match=r"built from another pin file \(sets \['keda'\]"):
        _build(tmp_path, "ok", [SCALED_OBJECT], version="v0.0.0-20240501182040-762f6be5a942")


def test_no_build_at_all_says_how_to_make_one(tmp_path):
    (tmp_path / "sources.toml").write_text(PIN_FILE)
    with pytest.raises(MissingCrdBuildError, match="run scripts/build-crds.sh"):
        upstream_crds(tmp_path / "sources.toml", tmp_path / "crds")

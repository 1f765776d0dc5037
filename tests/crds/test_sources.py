"""The pin file of the upstream CRDs (scripts/go/crds/sources.toml) agrees with what the stacks and the build pin.

Unit tier: reads files only. The real tier (test_upstream_crds.py) proves the CRDs themselves.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from infra.catalog import versions, versions_document
from tests.support.apiserver import REPO_ROOT
from tests.support.crds import SOURCES_FILE, read_sources

GO_DIR = REPO_ROOT / "scripts" / "go"
SETS = tomllib.loads(SOURCES_FILE.read_text())["set"]
SOURCES = read_sources()
PINNED_SETS = [s for s in SOURCES if s.pin]


def _versions_yaml_value(path: str):
    value = versions_document()  # the file as written: pins are named by their YAML keys
    for key in path.split("."):
        value = value[key]
    return value


@pytest.mark.parametrize("source", PINNED_SETS, ids=lambda s: s.name)
def test_each_crd_set_stands_for_the_version_the_stacks_pin(source):
    """When versions.yaml moves on (a new OKD release or startingCSV), the set must be re-pinned with it."""
    assert _versions_yaml_value(source.pin) == source.pinned, (
        f"set {source.name!r} was matched to {source.pin} = {source.pinned!r}, but infra/data/versions.yaml now "
        f"says {_versions_yaml_value(source.pin)!r}: re-pin {source.module} in {SOURCES_FILE.name}")


def test_the_stacks_operators_and_okd_release_each_have_a_crd_set():
    pins = {s.pin for s in PINNED_SETS}
    operators = {f"apps.operators.{name}.startingCSV" for name in versions().apps.operators}
    assert operators | {"okd.default"} <= pins


@pytest.mark.parametrize("entry", SETS, ids=lambda e: e["name"])
def test_each_set_pins_a_module_version_and_its_checksum_and_says_how_close_it_is(entry):
    assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", entry["version"]), entry["version"]
    assert re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=", entry["sum"]), entry["sum"]
    assert len(entry["closeness"]) > 40, "say how the version compares to what it stands for"
    assert bool(entry.get("files")) != bool(entry.get("generate"))


def test_no_kind_comes_from_two_sets():
    kinds = [k for s in SOURCES for k in s.kinds]
    assert len(kinds) == len(set(kinds))


@pytest.mark.parametrize("entry", [e for e in SETS if e.get("generate")], ids=lambda e: e["name"])
def test_controller_gen_inputs_are_pinned_by_the_crds_wrapper_module(entry):
    gomod = (GO_DIR / "crds" / "go.mod").read_text()
    gosum = (GO_DIR / "crds" / "go.sum").read_text().splitlines()
    assert re.search(rf"^\s*(require\s+)?{re.escape(entry['module'])}\s+{re.escape(entry['version'])}\s*$", gomod,
                     re.MULTILINE)
    assert f"{entry['module']} {entry['version']} {entry['sum']}" in gosum


def test_controller_gen_is_built_at_the_version_versions_env_pins():
    pins = dict(line.split("=", 1) for line in (GO_DIR / "versions.env").read_text().splitlines()
                if line and not line.startswith("#"))
    gomod = (GO_DIR / "controller-gen" / "go.mod").read_text()
    assert f"sigs.k8s.io/controller-tools {pins['CONTROLLER_TOOLS_VERSION']}" in gomod

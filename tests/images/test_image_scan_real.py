"""The image scan for real: a notebook image built by the project's buildah builder, its SBOM by syft, its
vulnerability report by grype over a DB written from fixture records with grype's own DB code, then the gate.

The fixture records (tests/images/vulnerability-records) mark bookworm's zlib (package zlib1g) Critical and its
tar Medium; neither is a real vulnerability."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from infra.images.scan import scan
from infra.images.scan_policy import load_allowlist

pytestmark = pytest.mark.real

TODAY = dt.date(2026, 3, 1)


def _allowlist(tmp_path, entries: str):
    path = tmp_path / "allowlist.yaml"
    path.write_text(f"failOn: Critical\nallow:{entries or ' []'}\n", encoding="utf-8")
    return load_allowlist(path)


ZLIB_ENTRY = """
  - id: CVE-2099-0001
    package: zlib1g
    reason: "fixture: accepted until the base image moves to trixie (decided by the facility's security contact)"
    expires: {expires}
"""


def test_the_built_image_carries_its_labels_and_runs_as_a_numeric_user(built_image):
    manifest = subprocess.run(["tar", "-xOf", str(built_image.archive), "index.json"], check=True,
                              capture_output=True, text=True).stdout
    assert json.loads(manifest)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == \
        built_image.image.reference
    config_commands = [c for c in built_image.commands if "config" in c]
    assert "1000:0" in config_commands[0]


def test_a_critical_finding_fails_the_scan(scanners, built_image, tmp_path):
    result = scan(scanners, f"oci-archive:{built_image.archive}", tmp_path, _allowlist(tmp_path, ""), TODAY)
    assert not result.verdict.passed
    assert [(f.id, f.package, f.version) for f in result.verdict.blocking] == \
        [("CVE-2099-0001", "zlib1g", "1:1.2.13.dfsg-1")]
    assert result.verdict.below_threshold == 1  # tar's Medium finding is reported, not blocking
    sbom = json.loads(result.sbom.read_text())
    assert any(a["name"] == "zlib1g" and a["type"] == "deb" for a in sbom["artifacts"])
    assert json.loads(result.sbom_cyclonedx.read_text())["bomFormat"] == "CycloneDX"


def test_a_current_allow_list_entry_lets_it_pass(scanners, built_image, tmp_path):
    allowlist = _allowlist(tmp_path, ZLIB_ENTRY.format(expires="2026-06-30"))
    result = scan(scanners, f"oci-archive:{built_image.archive}", tmp_path, allowlist, TODAY)
    assert result.verdict.passed, result.verdict.render("Critical")
    assert [(f.id, e.package) for f, e in result.verdict.allowed] == [("CVE-2099-0001", "zlib1g")]


def test_an_expired_allow_list_entry_fails_again(scanners, built_image, tmp_path):
    allowlist = _allowlist(tmp_path, ZLIB_ENTRY.format(expires="2026-02-28"))
    result = scan(scanners, f"oci-archive:{built_image.archive}", tmp_path, allowlist, TODAY)
    assert not result.verdict.passed
    assert [e.id for e in result.verdict.expired] == ["CVE-2099-0001"]
    assert [f.id for f in result.verdict.blocking] == ["CVE-2099-0001"]

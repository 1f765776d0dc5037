"""SBOM with syft, vulnerability scan of that SBOM with grype, and the gate (infra/images/scan_policy.py).

The scanners are the ones scripts/build-scan-tools.sh builds (.tools/bin). Grype reads its vulnerability DB from
`GRYPE_DB_CACHE_DIR`; at the site it downloads the published DB (GRYPE_DB_UPDATE_URL, docs/apps.md), in the tests a
DB written from fixture records is imported first. Neither tool may phone home for its own updates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.images.scan_policy import AllowList, Verdict, judge
from infra.paths import PROJECT_DIR

TOOLS_BIN = PROJECT_DIR / ".tools" / "bin"
_NO_PHONE_HOME = {"GRYPE_CHECK_FOR_APP_UPDATE": "false", "SYFT_CHECK_FOR_APP_UPDATE": "false"}


@dataclass(frozen=True)
class Scanners:
    syft: Path = TOOLS_BIN / "syft"
    grype: Path = TOOLS_BIN / "grype"
    db_dir: Path | None = None  # GRYPE_DB_CACHE_DIR; None: grype's default
    offline_db: bool = False  # use the imported DB as it is: no update check, no age limit
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {**os.environ, **_NO_PHONE_HOME, **self.extra_env}
        if self.db_dir is not None:
            env["GRYPE_DB_CACHE_DIR"] = str(self.db_dir)
        if self.offline_db:
            env.update({"GRYPE_DB_AUTO_UPDATE": "false", "GRYPE_DB_VALIDATE_AGE": "false"})
        return env

    def missing(self) -> list[str]:
        return [str(tool) for tool in (self.syft, self.grype) if not os.access(tool, os.X_OK)]


@dataclass(frozen=True)
class ScanResult:
    sbom: Path  # syft JSON
    sbom_cyclonedx: Path
    report: Path  # grype JSON
    verdict: Verdict


def import_db(scanners: Scanners, archive: Path) -> None:
    subprocess.run([str(scanners.grype), "db", "import", str(archive)], check=True, env=scanners.env(),
                   capture_output=True, text=True)


def write_sbom(scanners: Scanners, source: str, out_dir: Path) -> tuple[Path, Path]:
    """`source` as syft takes it: oci-archive:PATH for a built image, registry:REF for an upstream one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    syft_json, cyclonedx = out_dir / "sbom.syft.json", out_dir / "sbom.cdx.json"
    subprocess.run([str(scanners.syft), "scan", source, "--quiet", "-o", f"syft-json={syft_json}",
                    "-o", f"cyclonedx-json={cyclonedx}"], check=True, env=scanners.env())
    return syft_json, cyclonedx


def vulnerability_report(scanners: Scanners, sbom: Path, out: Path) -> dict[str, Any]:
    subprocess.run([str(scanners.grype), f"sbom:{sbom}", "--quiet", "-o", "json", "--file", str(out)], check=True,
                   env=scanners.env())
    return json.loads(out.read_text(encoding="utf-8"))


def scan(scanners: Scanners, source: str, out_dir: Path, allowlist: AllowList, today: dt.date) -> ScanResult:
    missing = scanners.missing()
    if missing:
        raise FileNotFoundError(f"scanner(s) not built: {', '.join(missing)}; run: bash scripts/build-scan-tools.sh")
    sbom, cyclonedx = write_sbom(scanners, source, out_dir)
    report_path = out_dir / "grype.json"
    report = vulnerability_report(scanners, sbom, report_path)
    return ScanResult(sbom, cyclonedx, report_path, judge(report, allowlist, today))

"""Upstream Helm charts of the apps layer: which pinned chart an app deploys, and where the chart comes from.

The pins are infra/data/versions.yaml `apps.charts` (version, repository, the published archive's name and sha256).
Production pulls the pinned version from the chart repository. With `eaf:apps.charts.archives` set to a directory
(tests and CI: ../shared/charts, a disconnected site: its own mirror) the published archive is read from there
instead, and only after its sha256 matched the pin: a mismatch is a configuration problem naming the file and both
digests, reported before anything is registered. Nothing is ever unpacked into the repository.

`pulumi_kubernetes.helm.v4.Chart` renders a chart inside the Kubernetes provider plugin (helm is built into it)
and registers each rendered object as a child resource, so previews show per-object diffs. Under Pulumi mocks
nothing is rendered: the unit tests check the values an app builds, the real-engine tier what the chart rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from infra.catalog import ChartPin, versions
from infra.paths import PROJECT_DIR
from infra.spec.base import Strict
from infra.spec.errors import Problem

WHERE = "infra/data/versions.yaml apps.charts"
SOURCE_KEY = "eaf:apps.charts.archives"


class ChartSource(Strict):
    """`eaf:apps.charts`: where the apps' Helm charts come from."""

    archives: str | None = Field(
        None, description="directory of the published chart archives (relative to the project: ../shared/charts); "
                          "unset: each chart's pinned version from its repository")


def chart_pin(name: str) -> ChartPin:
    return versions().apps.charts[name]


def archive_dir(source: ChartSource) -> Path | None:
    return None if source.archives is None else (PROJECT_DIR / source.archives).resolve()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_problems(source: ChartSource, names: tuple[str, ...]) -> list[Problem]:
    """Why a chart the stack deploys cannot be used: not pinned, or its archive missing or not the pinned one."""
    pinned = versions().apps.charts
    problems = [Problem(f"{WHERE}.{name}", None, "chart not pinned", f"pin its version, repository, archive and "
                        f"sha256 in {WHERE}") for name in names if name not in pinned]
    directory = archive_dir(source)
    if directory is None:
        return problems
    if not directory.is_dir():
        return [*problems, Problem(SOURCE_KEY, source.archives, "no such directory",
                                   "point it at the directory holding the published chart archives "
                                   "(e.g. ../shared/charts), or unset it to pull from the chart repositories")]
    for name in names:
        if name not in pinned:
            continue
        pin = pinned[name]
        path = directory / pin.archive
        if not path.is_file():
            problems.append(Problem(SOURCE_KEY, source.archives, f"chart archive {pin.archive} is not there",
                                    f"put the published {name} {pin.version} archive into {directory}"))
            continue
        actual = _sha256(path)
        if actual != pin.sha256:
            problems.append(Problem(f"{WHERE}.{name}.sha256", str(path),
                                    f"archive sha256 {actual} is not the pinned {pin.sha256}",
                                    "use the archive the chart repository publishes (its index.yaml digest), or pin "
                                    "the new release's version, archive and sha256 together"))
    return problems


@dataclass(frozen=True)
class ChartRelease:
    """One pinned chart an app deploys: the chart (a key of apps.charts), its release and namespace, its values."""

    chart: str
    release: str
    namespace: str
    values: dict[str, Any]  # built from the typed settings; may hold pulumi Outputs (secrets)
    skip_crds: bool = False  # the chart's crds/ directory
    # Chart defaults to drop: nested keys whose leaves are None. Sent as a values file (YAML `null`, which Helm
    # reads as "unset the default"), since a None in `values` never reaches Helm.
    unset: dict[str, Any] = field(default_factory=dict)

    def unset_yaml(self) -> str:
        return yaml.safe_dump(self.unset, sort_keys=True)


def chart_reference(release: ChartRelease, source: ChartSource) -> dict[str, Any]:
    """The Chart arguments that name the chart: the verified archive, or the pinned version from the repository."""
    pin = chart_pin(release.chart)
    directory = archive_dir(source)
    if directory is not None:
        return {"chart": str(directory / pin.archive)}
    return {"chart": release.chart, "version": pin.version, "repository": pin.repository}

"""The read-only data files of infra/data as typed models, each read and validated once per process.

versions.yaml (every pinned external version), mig-layouts.yaml (what each GPU model can be cut into) and
migration.yaml (what the prod-a <-> prod-b migration moves). Code reads fields of these models, never string keys
into the raw YAML; the raw versions document is kept only for the `pins` stack output, which shows it whole.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from infra.spec.base import Strict
from infra.spec.os_image import OsImage

DATA_DIR = Path(__file__).parent / "data"


@cache
def _document(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# -- versions.yaml ---------------------------------------------------------------------------------------------------


class InstallerPin(Strict):
    url: str
    sha256: str


class OkdRelease(Strict):
    """One OKD release of the catalogue: the Kubernetes it runs, the OS it boots, its installer."""

    kubernetes: str
    os: Literal["fcos", "scos"]
    os_image: str = Field(description="key of osImages")
    release_image: str
    installer: InstallerPin


class OkdCatalogue(Strict):
    default: str
    releases: dict[str, OkdRelease]


class OperatorPin(Strict):
    """An OLM subscription: the package, its channel and the exact CSV installed."""

    package: str
    channel: str
    starting_csv: str = Field(alias="startingCSV")
    source: str


class CatalogPin(Strict):
    """An OLM catalog a Subscription names as its `source`: one OKD ships (built in), or one the stack adds as a
    CatalogSource in openshift-marketplace from a pinned index image."""

    built_in: bool = Field(False, alias="builtIn", description="OKD creates it; the stack adds no CatalogSource")
    image: str | None = Field(None, description="key of apps.images: the index image (only when not built in)")
    display_name: str = Field(alias="displayName")
    publisher: str
    authenticated_registry: str | None = Field(
        None, description="registry the cluster's global pull secret must hold credentials for (docs/gpu-on-okd.md)")
    evidence: str = Field(description="where the catalog's content for the pinned OKD minor is documented")


class ChartPin(Strict):
    """A Helm chart: its published version, the repository production pulls it from, and the archive's sha256."""

    version: str
    repository: str
    sha256: str
    archive: str = Field(description="file name of the published archive (../shared/charts/<archive> in tests)")


class AppPins(Strict):
    images: dict[str, str]
    operators: dict[str, OperatorPin]
    catalogs: dict[str, CatalogPin] = {}
    charts: dict[str, ChartPin] = {}


class Versions(Strict):
    schema_version: int = Field(alias="schema")
    okd: OkdCatalogue
    os_images: dict[str, OsImage]
    images: dict[str, str]
    providers: dict[str, str]
    tools: dict[str, str]
    apps: AppPins

    def release(self, name: str) -> OkdRelease:
        return self.okd.releases[name]

    def os_image(self, name: str) -> OsImage:
        """A catalogue image with its name filled in (the entries are keyed by it)."""
        return self.os_images[name].model_copy(update={"name": name})


@cache
def versions() -> Versions:
    """infra/data/versions.yaml: every external version, pinned in one place."""
    return Versions.model_validate(_document("versions.yaml"))


def versions_document() -> dict[str, Any]:
    """The file as written, for the `pins` stack output (every preview shows what it would deploy)."""
    return _document("versions.yaml")


# -- mig-layouts.yaml ------------------------------------------------------------------------------------------------


class MigProfileSpec(Strict):
    compute: int = Field(ge=1)
    memory: int = Field(ge=1, description="memory slices")
    max_count: int = Field(ge=1)
    placements: tuple[int, ...] = Field(min_length=1, description="memory-slice indexes an instance may start at")


class GpuModelMig(Strict):
    compute_slices: int
    memory_slices: int
    memory_gib: int = Field(alias="memoryGiB")
    profiles: dict[str, MigProfileSpec]

    def slice_gib(self, profile: str) -> int:
        """The memory of one instance of the profile, as its name says (1g.10gb: 10)."""
        return int(profile.rsplit(".", 1)[1].removesuffix("gb"))


class MigLayout(Strict):
    """Instances per GPU: `per_gpu`, the same cut on every GPU of the node; or `gpus`, one cut per GPU in order."""

    model: str
    per_gpu: dict[str, int] | None = None
    gpus: tuple[dict[str, int], ...] | None = None

    def cut_of(self, gpu_index: int) -> dict[str, int]:
        return dict(self.per_gpu) if self.per_gpu is not None else dict(self.gpus[gpu_index])  # type: ignore[index]

    def cuts(self) -> tuple[dict[str, int], ...]:
        """Every distinct cut the layout names (one for per_gpu)."""
        return (dict(self.per_gpu),) if self.per_gpu is not None else tuple(dict(c) for c in self.gpus or ())


class MigCatalogue(Strict):
    models: dict[str, GpuModelMig]
    layouts: dict[str, MigLayout]


@cache
def mig_catalogue() -> MigCatalogue:
    """infra/data/mig-layouts.yaml: GPU models' MIG profiles and the named layouts."""
    return MigCatalogue.model_validate(_document("mig-layouts.yaml"))


# -- migration.yaml --------------------------------------------------------------------------------------------------


class Dataset(Strict):
    """Data on one cluster's own storage that the migration copies (one claim per matched entry)."""

    name: str
    path: str
    match: str
    what: str


class MigrationData(Strict):
    datasets: tuple[Dataset, ...]
    service_names: tuple[str, ...]

    @model_validator(mode="after")
    def _each_once(self) -> MigrationData:
        for what, values in (("dataset name", [d.name for d in self.datasets]), ("service name", self.service_names)):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"infra/data/migration.yaml: {what}(s) {', '.join(repeated)} given twice")
        return self


@cache
def migration_data() -> MigrationData:
    """infra/data/migration.yaml: what the prod-a <-> prod-b migration moves and switches."""
    return MigrationData.model_validate(_document("migration.yaml"))


# -- node-sizing.yaml ------------------------------------------------------------------------------------------------


class MachineMinimum(Strict):
    vcpu: int = Field(gt=0)
    memory_gib: float = Field(alias="memoryGiB", gt=0)
    disk_gib: int = Field(alias="diskGiB", gt=0)


class OkdSizing(Strict):
    """What one OKD minor documents: the minimum per machine kind, the largest tested cluster."""

    source: str
    machines: dict[str, MachineMinimum]
    max_nodes: int = Field(gt=0)
    max_nodes_source: str


class GpuMemoryRule(Strict):
    memory_gib: dict[str, float] = Field(alias="memoryGiB")
    headroom_machine: str
    rule: str


class NodeSizing(Strict):
    okd: dict[str, OkdSizing]
    gpus: GpuMemoryRule

    def for_release(self, release: str) -> tuple[str, OkdSizing | None]:
        """The release's minor (4.15 of 4.15.0-0.okd-...) and what the file says for it."""
        minor = ".".join(release.split(".")[:2])
        return minor, self.okd.get(minor)


@cache
def node_sizing() -> NodeSizing:
    """infra/data/node-sizing.yaml: OKD's documented minimums per machine kind and minor, the GPU memory rule."""
    return NodeSizing.model_validate(_document("node-sizing.yaml"))

"""The upstream CRDs of the kinds the stacks use, for the real-API-server tiers.

scripts/build-crds.sh builds them from the Go modules pinned in scripts/go/crds/sources.toml into .work/crds/
(never into the repository). `upstream_crds()` reads what that build made and what the pin file promises;
`install` creates them on a running kube-apiserver and waits until each is Established and served;
`uninstall` deletes them again. `upstream_crds_installed` is a module-scoped fixture doing both around a test
module, so the session's server is left as found (other modules rely on a server without these kinds).

A kind whose module the Go proxy refused has no CRD: `UpstreamCrds.missing()` names it with the refused module
and the proxy's answer, and the tests fail that kind with it, never skip it.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient

from tests.support.apiserver import REPO_ROOT
from tests.support.dryrun import CRD_API_PATH, ObjectRef, Rejection, _request, apply_crd, wait_established

SOURCES_FILE = REPO_ROOT / "scripts" / "go" / "crds" / "sources.toml"
CRDS_DIR = REPO_ROOT / ".work" / "crds"
INDEX_FILE = CRDS_DIR / "index.json"
BUILD_HINT = "run scripts/build-crds.sh (scripts/setup.sh runs it)"
# Deleting two dozen CRDs, some of them megabytes of schema, takes the server a while on a loaded machine.
_GONE_TIMEOUT = 180.0


class MissingCrdBuildError(RuntimeError):
    """scripts/build-crds.sh has not run, or ran on another pin file."""


@dataclass(frozen=True, order=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str

    @classmethod
    def parse(cls, text: str) -> GroupVersionKind:
        """"route.openshift.io/v1 Route" -> GroupVersionKind("route.openshift.io", "v1", "Route")"""
        group_version, kind = text.split()
        group, _, version = group_version.rpartition("/")
        return cls(group, version, kind)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}"


@dataclass(frozen=True)
class CrdSource:
    """One [[set]] of sources.toml: where a group of CRDs comes from and what it stands for."""

    name: str
    module: str
    version: str
    kinds: tuple[GroupVersionKind, ...]
    closeness: str
    pin: str | None  # dotted path into infra/data/versions.yaml
    pinned: str | None  # the value the set was matched to
    generated: bool

    @property
    def module_version(self) -> str:
        return f"{self.module}@{self.version}"


@dataclass(frozen=True)
class BuiltCrd:
    name: str
    group: str
    kind: str
    versions: tuple[str, ...]
    path: Path
    source: CrdSource

    def manifest(self) -> dict:
        return yaml.safe_load(self.path.read_text())


@dataclass(frozen=True)
class Refusal:
    source: CrdSource
    error: str


@dataclass(frozen=True)
class MissingKind:
    kind: GroupVersionKind
    why: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.why}"


@dataclass(frozen=True)
class UpstreamCrds:
    sources: tuple[CrdSource, ...]
    crds: tuple[BuiltCrd, ...]
    refusals: tuple[Refusal, ...]

    def promised_kinds(self) -> list[GroupVersionKind]:
        return sorted(k for s in self.sources for k in s.kinds)

    def crd_for(self, kind: GroupVersionKind) -> BuiltCrd | None:
        return next((c for c in self.crds if (c.group, c.kind) == (kind.group, kind.kind)
                     and kind.version in c.versions), None)

    def source_of(self, kind: GroupVersionKind) -> CrdSource:
        return next(s for s in self.sources if kind in s.kinds)

    def covered_kinds(self) -> list[GroupVersionKind]:
        return [k for k in self.promised_kinds() if self.crd_for(k) is not None]

    def missing(self) -> list[MissingKind]:
        """Every promised kind without a built CRD, and why (the refused module and the proxy's answer)."""
        refused = {r.source.name: r for r in self.refusals}
        missing = []
        for kind in self.promised_kinds():
            if self.crd_for(kind) is not None:
                continue
            source = self.source_of(kind)
            if source.name in refused:
                why = (f"no CRD: the Go module proxy refused {source.module_version} "
                       f"({refused[source.name].error})")
            else:
                why = f"no CRD built from {source.module_version}: {BUILD_HINT}"
            missing.append(MissingKind(kind, why))
        return missing

    def summary(self) -> str:
        covered = self.covered_kinds()
        lines = [f"[upstream CRDs] {len(covered)} of {len(self.promised_kinds())} kinds covered by "
                 f"{len(self.crds)} CRDs from {len(self.sources) - len(self.refusals)} modules"]
        lines += [f"  {s.name}: {s.module_version}" + (" (controller-gen)" if s.generated else "")
                  + f" -> {', '.join(str(k) for k in s.kinds)}" for s in self.sources]
        lines += [f"  MISSING {m}" for m in self.missing()]
        return "\n".join(lines)


def read_sources(path: Path = SOURCES_FILE) -> tuple[CrdSource, ...]:
    pins = tomllib.loads(path.read_text())
    return tuple(
        CrdSource(name=entry["name"], module=entry["module"], version=entry["version"],
                  kinds=tuple(GroupVersionKind.parse(k) for k in entry["kinds"]), closeness=entry["closeness"],
                  pin=entry.get("pin"), pinned=entry.get("pinned"), generated=bool(entry.get("generate")))
        for entry in pins["set"])


def upstream_crds(sources_file: Path = SOURCES_FILE, crds_dir: Path = CRDS_DIR) -> UpstreamCrds:
    """What scripts/build-crds.sh built for the pin file; raises MissingCrdBuildError when it has not run."""
    sources = read_sources(sources_file)
    index_file = crds_dir / "index.json"
    if not index_file.is_file():
        raise MissingCrdBuildError(f"{index_file} is missing: {BUILD_HINT}")
    index = json.loads(index_file.read_text())
    by_name = {s.name: s for s in sources}
    built = {entry["name"]: entry for entry in index["sets"]}
    stale = sorted(name for name, source in by_name.items()
                   if name not in built or (built[name]["module"], built[name]["version"])
                   != (source.module, source.version))
    if stale:
        raise MissingCrdBuildError(f"{index_file} was built from another pin file (sets {stale} differ from "
                                   f"{sources_file}): {BUILD_HINT}")
    crds, refusals = [], []
    for name, entry in sorted(built.items()):
        source = by_name.get(name)
        if source is None:
            continue
        if entry["status"] != "ok":
            refusals.append(Refusal(source, entry["error"]))
        crds += [BuiltCrd(name=c["name"], group=c["group"], kind=c["kind"], versions=tuple(c["versions"]),
                          path=crds_dir / c["file"], source=source) for c in entry["crds"]]
    return UpstreamCrds(sources=sources, crds=tuple(crds), refusals=tuple(refusals))


# -- on a server --------------------------------------------------------------------------------------------------


def install(client: ApiClient, crds: UpstreamCrds) -> list[Rejection]:
    """Create (or replace) every built CRD and wait until it is Established and in discovery; the server's refusals."""
    manifests = [crd.manifest() for crd in crds.crds]
    rejections = [r for r in (apply_crd(client, m) for m in manifests) if r is not None]
    refused = {r.ref for r in rejections}
    # All created first, then waited on: the server establishes them side by side.
    waited = (wait_established(client, ObjectRef.of(m)) for m in manifests if ObjectRef.of(m) not in refused)
    return rejections + [r for r in waited if r is not None]


def uninstall(client: ApiClient, crds: UpstreamCrds) -> None:
    """Delete every built CRD and wait until the server has finalized each (it removes their objects itself)."""
    delete_crds(client, [c.name for c in crds.crds])


def delete_crds(client: ApiClient, names: list[str]) -> None:
    """Delete the named CRDs, all first and then waited on together: kube-apiserver's own finalizer removes their
    objects and then them, on its own schedule (its work queue backs off, so one CRD can take tens of seconds)."""
    for name in names:
        response = _request(client, "DELETE", f"{CRD_API_PATH}/{name}")
        if response.status not in (200, 202, 404):
            raise RuntimeError(f"DELETE CustomResourceDefinition {name}: HTTP {response.status}: "
                               f"{response.text[:300]}")
    deadline = time.monotonic() + _GONE_TIMEOUT
    remaining = list(names)
    while remaining and time.monotonic() < deadline:
        # One at a time and metadata only: some of these CRDs are megabytes, and the server is busy finalizing.
        if _metadata_status(client, f"{CRD_API_PATH}/{remaining[0]}") == 404:
            remaining.pop(0)
        else:
            time.sleep(0.2)
    if remaining:
        raise RuntimeError(f"CustomResourceDefinitions {remaining} still exist {_GONE_TIMEOUT:.0f}s after deletion; "
                           f"the first one's conditions: {_conditions(client, remaining[0])}")


def _conditions(client: ApiClient, name: str) -> str:
    """The CRD's status conditions, as the server reports why it has not finalized it."""
    response = _request(client, "GET", f"{CRD_API_PATH}/{name}")
    if response.status != 200:
        return f"HTTP {response.status}"
    conditions = json.loads(response.text).get("status", {}).get("conditions", [])
    return "; ".join(f"{c.get('type')}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
                     for c in conditions)


def _metadata_status(client: ApiClient, path: str) -> int:
    """HTTP status of a GET that asks for the object's metadata only."""
    request = client.param_serialize(
        "GET", path, header_params={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
        auth_settings=["BearerToken"])
    response = client.call_api(*request, _request_timeout=30.0)
    response.read()
    return response.status


@dataclass(frozen=True)
class InstalledCrds:
    crds: UpstreamCrds
    rejections: tuple[Rejection, ...]
    seconds: float


@pytest.fixture(scope="module")
def upstream_crds_installed(kube_api_client: ApiClient) -> Iterator[InstalledCrds]:
    """The upstream CRDs on the session's server for one test module, deleted afterwards.

    Errors (not skips) when the CRDs were never built. Kinds whose module was refused are simply absent; the
    tests that need them fail naming the module (`UpstreamCrds.missing`).
    """
    crds = upstream_crds()
    began = time.monotonic()
    rejections = install(kube_api_client, crds)
    try:
        yield InstalledCrds(crds=crds, rejections=tuple(rejections), seconds=time.monotonic() - began)
    finally:
        uninstall(kube_api_client, crds)

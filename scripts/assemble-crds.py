"""Build the upstream CRDs of scripts/go/crds/sources.toml into an output directory (called by scripts/build-crds.sh).

For each set: `go mod download -json MODULE@VERSION` (the zip's h1: sum must be the pinned one), then either the
manifests the module ships, as shipped (`files`), or controller-gen over the API packages (`generate`, run inside
scripts/go/crds, whose go.mod/go.sum pin what those packages import). Every CRD lands in <out>/<group>/<name>.yaml,
and <out>/index.json records, per set, the module, its version and the CRDs made, or why the module could not be
had (the proxy's own words). A refused module is recorded, not fatal: the real tier fails its kinds by name. A
wrong pin (sum mismatch, a listed file missing, a file not defining its kinds) is fatal.

Runs on Debian's python3 (stdlib + python3-yaml) before the project's virtualenv exists. No shell: every command
is an argument list.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

INDEX_SCHEMA = 1


class PinError(RuntimeError):
    """The pin file and what the module really holds disagree: fix sources.toml, not the build."""


@dataclass(frozen=True)
class Source:
    name: str
    module: str
    version: str
    sum: str
    kinds: tuple[str, ...]
    files: tuple[str, ...] = ()
    generate: tuple[str, ...] = ()
    drop_template_labels: bool = False

    @classmethod
    def of(cls, entry: dict) -> Source:
        known = {"name", "module", "version", "sum", "kinds", "files", "generate", "drop_template_labels",
                 "pin", "pinned", "closeness"}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise PinError(f"set {entry.get('name')!r}: unknown keys {unknown} (known: {sorted(known)})")
        if bool(entry.get("files")) == bool(entry.get("generate")):
            raise PinError(f"set {entry['name']!r}: give exactly one of `files` (shipped manifests) or `generate`")
        return cls(name=entry["name"], module=entry["module"], version=entry["version"], sum=entry["sum"],
                   kinds=tuple(entry["kinds"]), files=tuple(entry.get("files", ())),
                   generate=tuple(entry.get("generate", ())),
                   drop_template_labels=bool(entry.get("drop_template_labels", False)))


@dataclass
class BuiltCrd:
    name: str
    group: str
    kind: str
    versions: list[str]
    file: str  # relative to the output directory


@dataclass
class SetResult:
    name: str
    module: str
    version: str
    status: str  # "ok" or "refused"
    error: str = ""
    crds: list[BuiltCrd] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[build-crds] {message}", flush=True)


def download(go: str, source: Source, scratch: Path) -> tuple[Path | None, str]:
    """The module's directory in the module cache, or None and the go command's error."""
    # Run outside any module: an explicit MODULE@VERSION is fetched as is, never raised by another module's needs.
    result = subprocess.run([go, "mod", "download", "-json", f"{source.module}@{source.version}"], cwd=scratch,
                            capture_output=True, text=True, check=False)
    try:
        info = json.loads(result.stdout)
    except ValueError:
        info = {}
    if info.get("Error") or result.returncode != 0:
        return None, str(info.get("Error") or result.stderr.strip() or f"go mod download exited {result.returncode}")
    if info.get("Sum") != source.sum:
        raise PinError(f"set {source.name!r}: {source.module}@{source.version} has sum {info.get('Sum')}, "
                       f"sources.toml pins {source.sum}; re-pin only after checking why it changed")
    return Path(info["Dir"]), ""


def read_crds(path: Path) -> list[dict]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for document in documents:
        if document.get("kind") != "CustomResourceDefinition":
            raise PinError(f"{path}: holds a {document.get('kind')}, not a CustomResourceDefinition")
    return documents


def without_template_labels(crd: dict) -> dict:
    """A chart's CRD source with the labels that are Helm expressions left out (labels never touch the schema)."""
    metadata = dict(crd.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if "{{" not in str(v)}
    if labels:
        metadata["labels"] = labels
    else:
        metadata.pop("labels", None)
    return {**crd, "metadata": metadata}


def place(crd: dict, out: Path, verbatim: Path | None) -> BuiltCrd:
    spec = crd["spec"]
    name = crd["metadata"]["name"]
    target = out / spec["group"] / f"{name}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    if verbatim is not None:
        shutil.copyfile(verbatim, target)
    else:
        target.write_text(yaml.safe_dump(crd, sort_keys=False))
    target.chmod(0o644)
    return BuiltCrd(name=name, group=spec["group"], kind=spec["names"]["kind"],
                    versions=[v["name"] for v in spec["versions"] if v.get("served")],
                    file=str(target.relative_to(out)))


def shipped(source: Source, module_dir: Path, out: Path) -> list[BuiltCrd]:
    built = []
    for relative in source.files:
        path = module_dir / relative
        if not path.is_file():
            raise PinError(f"set {source.name!r}: {source.module}@{source.version} has no {relative}")
        documents = read_crds(path)
        for crd in documents:
            if source.drop_template_labels:
                built.append(place(without_template_labels(crd), out, None))
            else:
                # One CRD per file, as shipped: copied byte for byte.
                built.append(place(crd, out, path if len(documents) == 1 else None))
    return built


def generated(source: Source, controller_gen: str, crds_module: Path, out: Path, scratch: Path) -> list[BuiltCrd]:
    target = scratch / source.name
    argv = [controller_gen, "crd", *(f"paths={p}" for p in source.generate), f"output:crd:dir={target}"]
    result = subprocess.run(argv, cwd=crds_module, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PinError(f"set {source.name!r}: controller-gen failed ({' '.join(argv)}):\n{result.stderr.strip()}")
    built = []
    for path in sorted(target.glob("*.yaml")):
        for crd in read_crds(path):
            built.append(place(crd, out, path))
    return built


def check_kinds(source: Source, crds: list[BuiltCrd]) -> list[BuiltCrd]:
    """Keep the CRDs that define the set's kinds; fail when one of its kinds is defined by none."""
    wanted = []
    for entry in source.kinds:
        group_version, kind = entry.split()
        group, _, version = group_version.rpartition("/")
        match = [c for c in crds if (c.group, c.kind) == (group, kind) and version in c.versions]
        if not match:
            defined = sorted(f"{c.group}/{v} {c.kind}" for c in crds for v in c.versions)
            raise PinError(f"set {source.name!r}: no CRD of {source.module}@{source.version} serves {entry} "
                           f"(it defines {defined})")
        wanted.extend(m for m in match if m not in wanted)
    return wanted


def check_generate_pin(source: Source, crds_module: Path) -> None:
    gomod = (crds_module / "go.mod").read_text().split()
    gosum = (crds_module / "go.sum").read_text().splitlines()
    if not any(gomod[i:i + 2] == [source.module, source.version] for i in range(len(gomod))):
        raise PinError(f"set {source.name!r}: {crds_module}/go.mod does not require {source.module} "
                       f"{source.version}, but controller-gen reads that module from there")
    if f"{source.module} {source.version} {source.sum}" not in gosum:
        raise PinError(f"set {source.name!r}: {crds_module}/go.sum does not pin {source.module} "
                       f"{source.version} at {source.sum}")


def build(sources: list[Source], go: str, controller_gen: str, crds_module: Path, out: Path) -> list[SetResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="build-crds-") as tmp:
        scratch = Path(tmp)
        for source in sources:
            module_dir, error = download(go, source, scratch)
            if module_dir is None:
                log(f"{source.name}: REFUSED {source.module}@{source.version}: {error}")
                results.append(SetResult(source.name, source.module, source.version, "refused", error))
                continue
            if source.generate:
                check_generate_pin(source, crds_module)
                crds = generated(source, controller_gen, crds_module, out, scratch)
            else:
                crds = shipped(source, module_dir, out)
            kept = check_kinds(source, crds)
            for extra in (c for c in crds if c not in kept):
                (out / extra.file).unlink()
            log(f"{source.name}: {source.module}@{source.version}: {', '.join(c.name for c in kept)}")
            results.append(SetResult(source.name, source.module, source.version, "ok", crds=kept))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--crds-module", type=Path, required=True, help="scripts/go/crds (controller-gen inputs)")
    parser.add_argument("--controller-gen", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--go", default="go")
    args = parser.parse_args()

    pins = tomllib.loads(args.sources.read_text())
    if pins.get("schema") != INDEX_SCHEMA:
        raise PinError(f"{args.sources}: schema {pins.get('schema')!r}, this build reads schema {INDEX_SCHEMA}")
    sources = [Source.of(entry) for entry in pins["set"]]

    # Built aside and swapped in whole, so a failed build never leaves a half-written directory behind.
    staging = args.out.with_name(args.out.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        results = build(sources, args.go, str(Path(args.controller_gen).resolve()), args.crds_module.resolve(), staging)
    except PinError as error:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"[build-crds] ERROR: {error}", file=sys.stderr)
        return 1
    index = {"schema": INDEX_SCHEMA, "sets": [asdict(r) for r in results]}
    (staging / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(staging, args.out)
    refused = [r for r in results if r.status != "ok"]
    made = sum(len(r.crds) for r in results)
    log(f"{made} CRDs from {len(results) - len(refused)} modules in {args.out}; refused: "
        + (", ".join(f"{r.module}@{r.version}" for r in refused) or "none"))
    # Exit 3: built, but with refused modules (scripts/build-crds.sh then writes no stamp, so the next run retries).
    return 3 if refused else 0


if __name__ == "__main__":
    sys.exit(main())

"""Copy a dataset from one cluster's storage to the other's, with a sha256 per file, verified after the copy.

Rules (the migration never loses data):
- A file is written to `<name>.eaf-partial` next to its destination, read back and hashed, and only then renamed
  over the destination; a mismatch stops the copy, naming the file (the partial stays for inspection and is
  overwritten by the next attempt).
- A destination file with the same sha256 is left as it is (a re-run copies only what is missing or different).
- A destination file with a *different* sha256 is not overwritten blind: it is first renamed to
  `<name>.eaf-kept-<migration id>` (the source is the authority, the old bytes stay on disk for whoever needs them).
- Files only at the destination are left alone and reported. Nothing is ever deleted on either side.
- The source is hashed before and after the copy; if it changed meanwhile (a hub still writing its database),
  the copy is reported inconsistent.

Contents are copied and checksummed; ownership and permissions are the endpoint's business (a cluster endpoint
using `rsync -a` or tar keeps them; the local one leaves the destination's defaults).

Where the bytes live is an `Endpoint`. `LocalDirectory` is a folder: mounted volumes (an air-gapped site), or any
path the operator prepared. A cluster endpoint (`kubectl exec` + tar into a pod that mounts the claim, or rsync
over a pod) implements the same five methods; the sync logic does not change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Protocol

CHUNK = 1024 * 1024
PARTIAL_SUFFIX = ".eaf-partial"
KEPT_MARKER = ".eaf-kept-"


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


class Endpoint(Protocol):
    """One side's storage. Paths are POSIX, relative to the endpoint's root."""

    def describe(self) -> str: ...

    def files(self, prefix: str, match: str) -> dict[str, FileEntry]:
        """Every regular file under `prefix/<entry>` for the top-level entries of `prefix` matching `match`."""

    def read(self, path: str) -> Iterator[bytes]: ...

    def write(self, path: str, chunks: Iterator[bytes]) -> FileEntry:
        """Write to the partial file of `path`, read it back, and return what is on disk (size, sha256)."""

    def install(self, path: str, expected: FileEntry) -> None:
        """Move the verified partial of `path` into place (after `keep_aside` if a different file was there)."""

    def keep_aside(self, path: str, tag: str) -> str:
        """Rename the file at `path` out of the way, keeping it; returns its new path."""


def sha256_of(chunks: Iterator[bytes]) -> FileEntry:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return FileEntry(size, digest.hexdigest())


class LocalDirectory:
    """An endpoint that is a directory on this machine (mounted volumes at an air-gapped site; the tests)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"local directory {self.root}"

    def _path(self, path: str) -> Path:
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"{path!r}: dataset paths are relative and stay inside {self.root}")
        return self.root.joinpath(*relative.parts)

    def files(self, prefix: str, match: str) -> dict[str, FileEntry]:
        base = self._path(prefix)
        if not base.is_dir():
            raise FileNotFoundError(f"{self.describe()}: no folder {prefix!r} ({base})")
        found = {}
        for entry in sorted(base.iterdir()):
            if not fnmatch(entry.name, match):
                continue
            candidates = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
            for file in candidates:
                if file.is_symlink() or file.name.endswith(PARTIAL_SUFFIX) or KEPT_MARKER in file.name:
                    continue  # our own partials and kept copies are not data of the dataset
                relative = file.relative_to(self.root).as_posix()
                found[relative] = sha256_of(self.read(relative))
        return found

    def read(self, path: str) -> Iterator[bytes]:
        with open(self._path(path), "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def write(self, path: str, chunks: Iterator[bytes]) -> FileEntry:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        with open(partial, "wb") as handle:  # truncates an earlier attempt's partial: ours, not data
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        # Read back what the disk holds: this, not the bytes sent, is what gets compared.
        with open(partial, "rb") as handle:
            return sha256_of(iter(lambda: handle.read(CHUNK), b""))

    def install(self, path: str, expected: FileEntry) -> None:
        target = self._path(path)
        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        os.replace(partial, target)

    def keep_aside(self, path: str, tag: str) -> str:
        target = self._path(path)
        kept = target.with_name(f"{target.name}{KEPT_MARKER}{tag}")
        serial = 1
        while kept.exists():  # a kept copy is never overwritten either
            serial += 1
            kept = target.with_name(f"{target.name}{KEPT_MARKER}{tag}.{serial}")
        os.rename(target, kept)
        return kept.relative_to(self.root).as_posix()


class CopyError(RuntimeError):
    """A file did not arrive intact, or the source changed during the copy."""


@dataclass
class DatasetResult:
    name: str
    files: int = 0
    bytes: int = 0
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # destination path -> where its old content was kept
    only_at_destination: list[str] = field(default_factory=list)
    manifest: dict[str, FileEntry] = field(default_factory=dict)  # what was copied: path -> size, sha256

    def to_json(self) -> dict:
        return {"name": self.name, "files": self.files, "bytes": self.bytes, "copied": len(self.copied),
                "unchanged": len(self.unchanged), "kept": dict(sorted(self.kept.items())),
                "onlyAtDestination": sorted(self.only_at_destination),
                "manifestSha256": manifest_digest(self.manifest)}


def manifest_text(manifest: Mapping[str, FileEntry]) -> str:
    """`sha256sum` format ("<sha256>  <path>"), sorted: `sha256sum -c` checks a copy with it, too."""
    return "".join(f"{entry.sha256}  {path}\n" for path, entry in sorted(manifest.items()))


def manifest_digest(manifest: Mapping[str, FileEntry]) -> str:
    return hashlib.sha256(manifest_text(manifest).encode()).hexdigest()


def parse_manifest(text: str) -> dict[str, str]:
    """`manifest_text` back to path -> sha256."""
    parsed = {}
    for line in text.splitlines():
        digest, _sep, path = line.partition("  ")
        if digest and path:
            parsed[path] = digest
    return parsed


def sync_dataset(name: str, prefix: str, match: str, source: Endpoint, destination: Endpoint,
                 keep_tag: str) -> DatasetResult:
    """Copy `prefix/<match>` from source to destination under the rules above; raise CopyError on any mismatch."""
    before = source.files(prefix, match)
    try:
        existing = destination.files(prefix, match)
    except FileNotFoundError:
        existing = {}
    result = DatasetResult(name, files=len(before), bytes=sum(e.size for e in before.values()),
                           manifest=dict(before))
    for path, entry in sorted(before.items()):
        if existing.get(path) == entry:
            result.unchanged.append(path)
            continue
        written = destination.write(path, source.read(path))
        if written != entry and sha256_of(source.read(path)) != entry:
            raise CopyError(f"dataset {name}: the source changed during the copy ({path}): stop what writes it "
                            "(e.g. the hub) and re-run")
        if written != entry:
            raise CopyError(f"dataset {name}: {path} arrived corrupted at {destination.describe()}: sha256 "
                            f"{written.sha256} ({written.size} bytes), expected {entry.sha256} ({entry.size} bytes); "
                            "the destination file was not replaced; re-run to retry")
        if path in existing:
            result.kept[path] = destination.keep_aside(path, keep_tag)
        destination.install(path, entry)
        result.copied.append(path)
    result.only_at_destination = sorted(set(existing) - set(before))
    after = source.files(prefix, match)
    if after != before:
        changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        raise CopyError(f"dataset {name}: the source changed during the copy ({', '.join(changed[:5])}"
                        f"{' ...' if len(changed) > 5 else ''}): stop what writes it (e.g. the hub) and re-run")
    return result


def verify_dataset(name: str, prefix: str, match: str, destination: Endpoint,
                   expected: Mapping[str, str]) -> list[str]:
    """Re-hash the destination and compare every copied file with its recorded sha256 (path -> sha256). Files
    added at the destination since are not the copy's business. Returns the problems, empty when intact."""
    now = destination.files(prefix, match)
    problems = []
    for path, digest in sorted(expected.items()):
        if path not in now:
            problems.append(f"dataset {name}: {path} is missing at {destination.describe()}")
        elif now[path].sha256 != digest:
            problems.append(f"dataset {name}: {path} at {destination.describe()} has sha256 {now[path].sha256}, "
                            f"copied as {digest}")
    return problems

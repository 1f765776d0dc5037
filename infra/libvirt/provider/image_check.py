"""The checksum step before pulumi-libvirt imports the OS base image.

terraform-provider-libvirt's volume `source` takes a URL or a file and imports it as it is: no checksum. So the
provider backend never hands it a URL. A `VerifiedImage` (a Python dynamic resource, run by the Pulumi engine on the
machine that runs `pulumi up`) makes sure a local file with the pinned sha256 exists first:
  - a pre-staged path is hashed where it is;
  - a URL is downloaded into the project's image cache while being hashed, compared, then decompressed (.xz/.gz);
and the base image volume's `source` is this resource's `path` output, so the import waits for the check and a
mismatch stops the update before anything reaches a hypervisor. A URL without a pinned sha256 is refused earlier,
when the program is evaluated (see ProviderBackend.base_image).
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

CHUNK = 4 * 1024 * 1024
_DECOMPRESSORS = {".xz": lzma.open, ".gz": gzip.open}
_INPUTS = ("source", "sha256", "checksum_file", "path")


def is_url(source: str) -> bool:
    return "://" in source


def cached_image_path(cache_dir: Path, source: str, sha256: str) -> Path:
    """Where a downloaded image lands: keyed by its pinned checksum, named like the (decompressed) file."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    for suffix in _DECOMPRESSORS:
        name = name.removesuffix(suffix)
    return cache_dir / sha256[:16] / name


def expected_sha256(sha256: str | None, checksum_file: str | None, source: str) -> str:
    """The pinned checksum, or the one a SHA256SUMS-style file lists for the image's file name."""
    if sha256:
        return sha256
    if not checksum_file:
        raise ValueError(f"{source}: no sha256 pinned and no checksum file given")
    wanted = source.rsplit("/", 1)[-1]
    for line in Path(checksum_file).read_text().splitlines():
        digest, _, name = line.strip().partition(" ")
        if name.strip().lstrip("*") == wanted:
            return digest
    raise ValueError(f"{checksum_file} lists no checksum for {wanted}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(source: str, actual: str, expected: str) -> ValueError:
    return ValueError(
        f"{source}: sha256 is {actual} but the pin says {expected}. Nothing was imported. If this is the image "
        f"you mean to deploy, pin {actual} (infra/data/versions.yaml for catalogue images, eaf:osImage.sha256 "
        "for a stack's own image); otherwise replace the file."
    )


def verify_local(path: Path, expected: str) -> str:
    if not path.is_file():
        raise ValueError(f"{path}: pre-staged OS image not found on this machine; stage it or fix eaf:osImage.path")
    actual = file_sha256(path)
    if actual != expected:
        raise _mismatch(str(path), actual, expected)
    return actual


def download_verified(url: str, expected: str, dest: Path) -> str:
    """Download, hash while writing, compare, then decompress to `dest`. Nothing is left at `dest` on a mismatch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    suffix = next((s for s in _DECOMPRESSORS if url.endswith(s)), "")
    part = dest.with_name(dest.name + ".download" + suffix)
    digest = hashlib.sha256()
    with urllib.request.urlopen(url) as response, part.open("wb") as out:  # noqa: S310 - pinned https URLs
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    actual = digest.hexdigest()
    if actual != expected:
        part.unlink()
        raise _mismatch(url, actual, expected)
    if suffix:
        unpacked = dest.with_name(dest.name + ".unpacking")
        with _DECOMPRESSORS[suffix](part, "rb") as packed, unpacked.open("wb") as out:
            shutil.copyfileobj(packed, out, CHUNK)
        part.unlink()
        unpacked.replace(dest)  # atomic: `dest` exists only as the complete result of a verified download
    else:
        part.replace(dest)
    return actual


class ImageChecksumProvider(ResourceProvider):
    """Create = verify (and fetch). Lives in an importable module so its serialized form stays stable."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        source, path = props["source"], Path(props["path"])
        expected = expected_sha256(props.get("sha256"), props.get("checksum_file"), source)
        if is_url(source):
            # The cache path is keyed by the pinned checksum and written atomically after verification, so an
            # existing file is a verified download (its own hash is of the decompressed bytes, not the pin's).
            actual = expected if path.is_file() else download_verified(source, expected, path)
        else:
            actual = verify_local(path, expected)
        return CreateResult(id_=expected, outs={**{k: props.get(k) for k in _INPUTS}, "verified_sha256": actual})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        if not Path(news["path"]).is_file():
            changed.append("path")  # the verified file is gone (cache cleaned): verify/fetch again
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)


class VerifiedImage(pulumi.dynamic.Resource):
    path: pulumi.Output[str]
    verified_sha256: pulumi.Output[str]

    def __init__(self, name: str, source: str, sha256: str | None, checksum_file: str | None, path: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            ImageChecksumProvider(), name,
            {"source": source, "sha256": sha256, "checksum_file": checksum_file, "path": path,
             "verified_sha256": None},
            opts,
        )

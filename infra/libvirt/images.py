"""The OS base image on the machine that runs Pulumi: fetched once, verified, decompressed, ready to import.

Both backends import a local file that `prepare()` vouches for:
  - the file as published (a URL, or a pre-staged path) must have the pinned sha256 (`sha256`, or the one a
    SHA256SUMS file lists);
  - CoreOS publishes `.qcow2.xz` (FCOS) and `.qcow2.gz` (SCOS): compressed files (by name suffix, confirmed by
    their magic bytes) are decompressed, and the result is checked against `uncompressedSha256` where the stream
    publishes one;
  - downloads and decompressed files go to a cache keyed by the pinned sha256 (`.work/images/<sha256>/`), written
    under a temporary name and renamed only once verified, so an entry that exists is a verified one. A file lock
    makes the hosts of a stack (created in parallel) share one download.
Downloads retry with exponential backoff on network errors and HTTP 408/429/5xx; a checksum mismatch or an HTTP
4xx is final.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import http.client
import json
import lzma
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from infra.checksums import CHUNK, ChecksumFileError, listed_sha256, sha256_file
from infra.paths import PROJECT_DIR

# Gitignored runtime state of the machine that runs Pulumi; shared by both backends and every host of a stack.
IMAGE_CACHE = PROJECT_DIR / ".work" / "images"
_MAGIC = {"xz": b"\xfd7zXZ\x00", "gz": b"\x1f\x8b"}
_SUFFIX = {".xz": "xz", ".gz": "gz"}
_OPENERS: dict[str, Callable[[Path], BinaryIO]] = {
    "xz": lambda path: lzma.open(path, "rb"),
    "gz": lambda path: gzip.open(path, "rb"),
}
_RETRYABLE_HTTP = {408, 429, 500, 502, 503, 504}
# Pre-staged images already hashed by this process: (path, size, mtime, pin).
_VERIFIED: set[tuple[str, int, int, str]] = set()
_VERIFIED_LOCK = threading.Lock()


class ImageError(ValueError):
    """The OS image is missing, unreachable, corrupt or not the pinned one. Nothing was imported."""


@dataclass(frozen=True)
class ImagePin:
    """Where the image comes from and what it must be."""

    source: str  # URL, or an absolute local path
    sha256: str | None  # of the file at `source`, as published (compressed or not)
    checksum_file: str | None = None  # SHA256SUMS-style file beside a pre-staged image, instead of `sha256`
    uncompressed_sha256: str | None = None  # of the decompressed image, where the stream publishes it

    def expected_sha256(self) -> str:
        if self.sha256:
            return self.sha256.lower()
        if not self.checksum_file:
            raise ImageError(f"OS image {self.source} has no sha256 pin: refusing to import an unverified image "
                             "(pin eaf:osImage.sha256, or checksumFile for a pre-staged image)")
        try:
            return listed_sha256(Path(self.checksum_file), _file_name(self.source))
        except ChecksumFileError as error:
            raise ImageError(f"OS image {self.source}: {error}") from None


@dataclass(frozen=True)
class LocalImage:
    """A verified, decompressed image on this machine."""

    path: Path
    sha256: str  # of the file at `path` (what a hypervisor gets)
    size: int
    source_sha256: str  # the verified pin of the file as published
    compression: str | None  # "xz" | "gz" | None: what the published file was


@dataclass(frozen=True)
class Retry:
    attempts: int = 5
    first_delay_s: float = 2.0
    factor: float = 2.0
    timeout_s: float = 60.0  # per socket operation

    def delays(self) -> Iterator[float]:
        delay = self.first_delay_s
        for _ in range(self.attempts - 1):
            yield delay
            delay *= self.factor


def is_url(source: str) -> bool:
    return "://" in source


def _file_name(source: str) -> str:
    return source.rstrip("/").rsplit("/", 1)[-1]


def image_name(source: str) -> str:
    """The image's file name once decompressed: `fcos.qcow2.xz` -> `fcos.qcow2`."""
    name = _file_name(source)
    for suffix in _SUFFIX:
        name = name.removesuffix(suffix)
    return name


def compression_of(path: Path, name: str) -> str | None:
    """`xz`, `gz` or None, from the name's suffix and the file's magic bytes; a suffix the bytes contradict is an
    error (a `.xz` that is not xz data would otherwise be imported as a broken disk)."""
    with path.open("rb") as stream:
        head = stream.read(8)
    by_magic = next((kind for kind, magic in _MAGIC.items() if head.startswith(magic)), None)
    by_suffix = next((kind for suffix, kind in _SUFFIX.items() if name.endswith(suffix)), None)
    if by_suffix is not None and by_magic != by_suffix:
        raise ImageError(f"OS image {name}: named .{by_suffix} but its content is "
                         f"{'.' + by_magic + ' data' if by_magic else 'not compressed'}: stage the file as published")
    return by_magic


def planned_path(pin: ImagePin, cache_dir: Path = IMAGE_CACHE) -> Path:
    """Where `prepare()` will leave the image, known before anything is fetched (the provider backend names it
    as the import's source when the program is evaluated): a plain pre-staged file where it is, everything else
    in the cache under the pin."""
    if not is_url(pin.source):
        path = Path(pin.source)
        compressed = any(path.name.endswith(s) for s in _SUFFIX) or (
            path.is_file() and compression_of(path, path.name) is not None)
        if not compressed:
            return path
    return cache_dir / pin.expected_sha256() / image_name(pin.source)


def prepare(pin: ImagePin, cache_dir: Path = IMAGE_CACHE, retry: Retry = Retry()) -> LocalImage:
    """The verified, decompressed image for `pin`, fetched and unpacked at most once per cache."""
    expected = pin.expected_sha256()
    if not is_url(pin.source):
        path = Path(pin.source)
        if not path.is_file():
            raise ImageError(f"{pin.source}: pre-staged OS image not found on this machine (it does not exist): "
                             "stage it or fix eaf:osImage.path; the local probe image comes from "
                             "scripts/build-probe-image.sh")
        if compression_of(path, path.name) is None:  # used where it is, no copy
            _verify_in_place(path, pin.source, expected)
            return LocalImage(path, expected, path.stat().st_size, expected, None)
    entry = cache_dir / expected
    with _locked(entry):
        cached = _cached(entry, pin)
        if cached is not None:
            return cached
        try:
            return _fill(entry, pin, expected, retry)
        finally:
            for leftover in (*entry.glob("*.download"), *entry.glob("*.unpacking")):
                leftover.unlink()


def _fill(entry: Path, pin: ImagePin, expected: str, retry: Retry) -> LocalImage:
    """Download (or take the pre-staged file), verify, decompress, verify again; the result under its final
    name only once every check passed, and image.json last."""
    if is_url(pin.source):
        published = entry / (_file_name(pin.source) + ".download")
        _verify(pin.source, _download(pin.source, published, retry), expected)
    else:
        published = Path(pin.source)
        _verify(pin.source, sha256_file(published), expected)
    compression = compression_of(published, _file_name(pin.source))
    target = entry / image_name(pin.source)
    if compression is None:
        published.replace(target)  # a download: a pre-staged plain image never reaches the cache
        image_sha = expected
    else:
        unpacking = target.with_name(target.name + ".unpacking")
        image_sha = _decompress(pin.source, published, compression, unpacking)
        if pin.uncompressed_sha256:
            _verify_unpacked(pin, image_sha, pin.uncompressed_sha256.lower())
        unpacking.replace(target)
    (entry / "image.json").write_text(json.dumps(
        {"name": target.name, "sha256": image_sha, "compression": compression}, sort_keys=True) + "\n")
    return LocalImage(target, image_sha, target.stat().st_size, expected, compression)


def _verify_in_place(path: Path, source: str, expected: str) -> None:
    """Hash a pre-staged image once per process (every host's import asks), again if the file changed."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, expected)
    with _VERIFIED_LOCK:
        if key in _VERIFIED:
            return
        _verify(source, sha256_file(path), expected)
        _VERIFIED.add(key)


def _cached(entry: Path, pin: ImagePin) -> LocalImage | None:
    """A complete earlier result in `entry` (image.json is written last, after the verified rename)."""
    meta_file = entry / "image.json"
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    path = entry / meta["name"]
    if not path.is_file():
        return None
    if pin.uncompressed_sha256 and meta["sha256"] != pin.uncompressed_sha256.lower():
        _verify_unpacked(pin, meta["sha256"], pin.uncompressed_sha256.lower())
    return LocalImage(path, meta["sha256"], path.stat().st_size, entry.name, meta["compression"])


@contextmanager
def _locked(entry: Path) -> Iterator[None]:
    """One writer per cache entry, across the provider's threads and across processes."""
    entry.mkdir(parents=True, exist_ok=True)
    with (entry / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _verify(source: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise ImageError(
            f"OS image {source}: sha256 is {actual} but the pin says {expected}. Nothing was imported. If this is "
            f"the image you mean to deploy, pin {actual} (infra/data/versions.yaml for catalogue images, "
            "eaf:osImage.sha256 for a stack's own image); otherwise replace the file."
        )


def _verify_unpacked(pin: ImagePin, actual: str, expected: str) -> None:
    if actual != expected:
        raise ImageError(
            f"OS image {pin.source}: the decompressed image has sha256 {actual} but uncompressedSha256 pins "
            f"{expected}. Nothing was imported: fix the pin (the stream's published uncompressed sha256) or the "
            "image."
        )


def _decompress(source: str, packed: Path, compression: str, out: Path) -> str:
    digest = hashlib.sha256()
    try:
        with _OPENERS[compression](packed) as stream, out.open("wb") as sink:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
    except (lzma.LZMAError, gzip.BadGzipFile, EOFError, OSError) as error:
        raise ImageError(f"OS image {source}: cannot decompress its {compression} data: {error}") from None
    return digest.hexdigest()


class _TransientError(Exception):
    """A download failure worth another attempt."""


def _download(url: str, part: Path, retry: Retry) -> str:
    """Fetch `url` into `part`, hashing while writing; retried with backoff. Returns the sha256."""
    delays = retry.delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            return _fetch_once(url, part, retry.timeout_s)
        except _TransientError as error:
            delay = next(delays, None)
            if delay is None:
                raise ImageError(f"cannot download OS image {url}: {error} (gave up after {attempt} attempts)") \
                    from None
            time.sleep(delay)


def _fetch_once(url: str, part: Path, timeout_s: float) -> str:
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, part.open("wb") as out:  # noqa: S310
            length = response.headers.get("Content-Length")
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as error:
        if error.code in _RETRYABLE_HTTP:
            raise _TransientError(f"HTTP {error.code} {error.reason}") from None
        raise ImageError(f"cannot download OS image {url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, FileNotFoundError):
            raise ImageError(f"cannot download OS image {url}: {error.reason}") from None
        raise _TransientError(str(error.reason)) from None
    except (OSError, http.client.HTTPException) as error:  # resets, timeouts, truncated bodies
        raise _TransientError(f"{type(error).__name__}: {error}") from None
    if length is not None and received != int(length):
        raise _TransientError(f"connection closed after {received} of {length} bytes")
    return digest.hexdigest()

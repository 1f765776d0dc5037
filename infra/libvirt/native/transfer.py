"""Moving bytes into libvirt volumes: the base OS image (local path or URL, checksum-verified) and Ignition files.

Uploads go through virStorageVolUpload streams, so they work the same on qemu:///system and over qemu+ssh.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024
_DOWNLOAD_TIMEOUT_SECONDS = 60


class ImageError(RuntimeError):
    """The OS image is missing, unreachable or not the pinned one."""


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def verified_image(source: str, sha256: str | None) -> Iterator[Path]:
    """A local file holding `source`, checked against `sha256` before anything is created on a hypervisor.
    URLs are downloaded to a temporary file that is removed afterwards."""
    if not sha256:
        raise ImageError(f"OS image {source} has no sha256 pin: refusing to import an unverified image")
    if "://" not in source:
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"OS image {source} does not exist (build or stage it first, e.g. "
                             "scripts/build-probe-image.sh for the probe image)")
        _check(path, source, sha256)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="eaf-image-") as scratch:
        target = Path(scratch) / "image"
        try:
            with urllib.request.urlopen(source, timeout=_DOWNLOAD_TIMEOUT_SECONDS) as response, \
                    target.open("wb") as out:
                shutil.copyfileobj(response, out, _CHUNK)
        except OSError as error:
            raise ImageError(f"cannot download OS image {source}: {error}") from None
        _check(target, source, sha256)
        yield target


def _check(path: Path, source: str, sha256: str) -> None:
    with path.open("rb") as stream:
        actual = sha256_of(stream)
    if actual != sha256.lower():
        raise ImageError(f"OS image {source} has sha256 {actual}, but the stack pins {sha256}: "
                         "fix the pin in the stack's eaf:osImage.sha256 or stage the right image")


def upload(conn, volume, stream: BinaryIO, size: int) -> None:
    """Write `size` bytes from `stream` into `volume` from offset 0; aborts the libvirt stream on any error."""
    libvirt_stream = conn.newStream(0)
    volume.upload(libvirt_stream, 0, size, 0)
    try:
        libvirt_stream.sendAll(lambda _st, nbytes, source: source.read(nbytes), stream)
        libvirt_stream.finish()
    except BaseException:
        try:
            libvirt_stream.abort()
        except Exception:  # noqa: BLE001 - the original error is the one worth reporting
            pass
        raise


def upload_file(conn, volume, path: Path) -> None:
    with path.open("rb") as stream:
        upload(conn, volume, stream, os.path.getsize(path))


def upload_bytes(conn, volume, data: bytes) -> None:
    upload(conn, volume, io.BytesIO(data), len(data))


def download_bytes(conn, volume, size: int) -> bytes:
    """The first `size` bytes of `volume` (small volumes only: Ignition files)."""
    libvirt_stream = conn.newStream(0)
    volume.download(libvirt_stream, 0, size, 0)
    received = bytearray()

    def sink(_st, data: bytes, _opaque) -> int:
        received.extend(data)
        return len(data)

    libvirt_stream.recvAll(sink, None)
    libvirt_stream.finish()
    return bytes(received)

"""Moving bytes into and out of libvirt volumes: the base OS image and Ignition files.

Uploads go through virStorageVolUpload streams, so they work the same on qemu:///system and over qemu+ssh. Where
the bytes come from (download, cache, decompression, checksums) is infra/libvirt/images.py's business.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO

from infra.libvirt.images import ImageError, LocalImage

__all__ = ["ImageError", "download_bytes", "upload_bytes", "upload_image", "volume_sha256"]


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


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it: the upload proves what it sent."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream, self.digest = stream, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.digest.update(data)
        return data


def upload_image(conn, volume, image: LocalImage) -> None:
    """Upload the prepared image, hashing what is sent: a cache file changed since it was verified is refused."""
    with Path(image.path).open("rb") as source:
        hashing = _Hashing(source)
        upload(conn, volume, hashing, image.size)
    sent = hashing.digest.hexdigest()
    if sent != image.sha256:
        raise ImageError(f"OS image {image.path}: sent sha256 {sent}, but it was verified as {image.sha256}: the "
                         "cached file changed; remove it (it is re-fetched) and run again")


def upload_bytes(conn, volume, data: bytes) -> None:
    upload(conn, volume, io.BytesIO(data), len(data))


def _receive(conn, volume, size: int, sink) -> None:
    libvirt_stream = conn.newStream(0)
    volume.download(libvirt_stream, 0, size, 0)

    def handler(_st, data: bytes, _opaque) -> int:
        sink(data)
        return len(data)

    libvirt_stream.recvAll(handler, None)
    libvirt_stream.finish()


def download_bytes(conn, volume, size: int) -> bytes:
    """The first `size` bytes of `volume` (small volumes only: Ignition files)."""
    received = bytearray()
    _receive(conn, volume, size, received.extend)
    return bytes(received)


def volume_sha256(conn, volume) -> str:
    """The sha256 of a volume's whole file (length 0: to its end), streamed: what an import really wrote."""
    digest = hashlib.sha256()
    _receive(conn, volume, 0, digest.update)
    return digest.hexdigest()

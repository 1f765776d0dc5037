"""The OS image every node boots: a catalogue entry of versions.yaml, or a site's own pinned image."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from infra.spec.base import Sha256, Strict


class OsImage(Strict):
    """Either `name` (an entry of versions.yaml's osImages) or a full pinned image (url or path, sha256)."""

    name: str | None = None
    os: Literal["fcos", "scos", "probe"] | None = None
    url: str | None = None
    path: str | None = None
    sha256: Sha256 | None = None
    # The decompressed image's sha256 for a .xz/.gz image, where the OS stream publishes one: checked after
    # decompressing (catalogue entries in versions.yaml use the same key, `uncompressedSha256`).
    uncompressed_sha256: Sha256 | None = None
    # A SHA256SUMS-style file published beside a pre-staged image (the local probe image's build writes one).
    checksum_file: str | None = None
    format: Literal["qcow2", "raw"] = "qcow2"
    # Direct kernel boot (the local probe image; also a PXE-style CoreOS live kernel).
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OsImage:
        if self.name is None and (self.url is None) == (self.path is None):
            given = "both" if self.url is not None else "neither"
            raise ValueError(f"needs exactly one source and has {given}: `url` (downloaded) or `path` (pre-staged), "
                             "or a catalogue `name`")
        if (self.kernel is None) != (self.initrd is None):
            raise ValueError("direct kernel boot needs both `kernel` and `initrd`")
        return self

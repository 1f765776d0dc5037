"""The step before pulumi-libvirt imports the OS base image: fetch, verify, decompress.

terraform-provider-libvirt's volume `source` takes a URL or a file and imports it as it is: no checksum, and a
`.qcow2.xz` would become a disk of compressed bytes. So the provider backend never hands it a URL or a compressed
file. A `VerifiedImage` (a Python dynamic resource, run by the Pulumi engine on the machine that runs `pulumi up`)
runs infra/libvirt/images.py's `prepare()`: the published file (downloaded into the image cache, or pre-staged)
must have the pinned sha256, a compressed one is decompressed and checked against `uncompressedSha256` where
pinned, and the resource's `path` (planned when the program is evaluated, checked when the step runs) is the
verified, decompressed file. The base image volume's `source` is
that output, so the import waits for the check and a mismatch stops the update before anything reaches a
hypervisor. A URL without a pinned sha256 is refused earlier, when the program is evaluated
(see ProviderBackend.base_image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from infra.dynamic_resource import generic_type_alias
from infra.libvirt.images import ImageError, ImagePin, is_url, planned_path, prepare

__all__ = ["ImageChecksumProvider", "VerifiedImage", "is_url", "planned_path"]

_INPUTS = ("source", "sha256", "checksum_file", "uncompressed_sha256", "cache_dir", "path")


class ImageChecksumProvider(ResourceProvider):
    """Create = fetch and verify. Lives in an importable module so its serialized form stays stable."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        pin = ImagePin(props["source"], props.get("sha256"), props.get("checksum_file"),
                       props.get("uncompressed_sha256"))
        local = prepare(pin, Path(props["cache_dir"]))
        if str(local.path) != props["path"]:
            raise ImageError(f"OS image {pin.source}: prepared as {local.path}, but the program planned "
                             f"{props['path']} (the file changed since the program was evaluated): run again")
        return CreateResult(id_=local.source_sha256, outs={
            **{k: props.get(k) for k in _INPUTS}, "verified_sha256": local.source_sha256, "image_sha256": local.sha256,
        })

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        if not Path(news["path"]).is_file() and "path" not in changed:
            changed.append("path")  # the verified file is gone (cache cleaned): fetch and verify again
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)


class VerifiedImage(pulumi.dynamic.Resource, module="libvirt", name="VerifiedImage"):
    """Registers as `pulumi-python:dynamic/libvirt:VerifiedImage`; aliased to the generic dynamic type that state
    written before it had a name uses."""

    path: pulumi.Output[str]
    verified_sha256: pulumi.Output[str]
    image_sha256: pulumi.Output[str]

    def __init__(self, name: str, source: str, sha256: str | None, checksum_file: str | None,
                 uncompressed_sha256: str | None, cache_dir: str, opts: pulumi.ResourceOptions | None = None):
        pin = ImagePin(source, sha256, checksum_file, uncompressed_sha256)
        super().__init__(
            ImageChecksumProvider(), name,
            {"source": source, "sha256": sha256, "checksum_file": checksum_file,
             "uncompressed_sha256": uncompressed_sha256, "cache_dir": cache_dir,
             # Known now, so a preview shows what the provider will import.
             "path": str(planned_path(pin, Path(cache_dir))), "verified_sha256": None, "image_sha256": None},
            generic_type_alias(opts),
        )

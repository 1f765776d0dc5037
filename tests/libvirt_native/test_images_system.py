"""Compressed OS images for real on qemu:///system (issue: CoreOS ships .qcow2.xz / .qcow2.gz).

The test compresses the probe's base image with xz and with gzip. The native backend imports the xz one from a
pre-staged path and downloads the gzip one from an HTTP server on loopback; a VM boots from an overlay on each
and reads the base image's marker file, which it could not if the compressed bytes had become the disk. The
provider backend's step (VerifiedImage, whose `path` pulumi-libvirt imports) hands over the same decompressed
file; its resource itself runs under mocks only (tests/libvirt_provider), here the step runs for real.
"""

from __future__ import annotations

import gzip
import json
import lzma
import shutil
import subprocess
from collections.abc import Callable

import pytest

from infra.checksums import sha256_bytes
from infra.libvirt.images import IMAGE_CACHE, ImagePin, planned_path
from infra.libvirt.native import transfer
from infra.libvirt.provider.image_check import ImageChecksumProvider
from tests.libvirt_native.conftest import Ledger
from tests.libvirt_native.system import PROBE, create_node, ignition_for, probe_line, probe_node, remove_logs, system
from tests.support.http_files import FileServer

pytestmark = [pytest.mark.real, pytest.mark.slow]

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "xz": lzma.compress, "gz": lambda data: gzip.compress(data, mtime=0),
}


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """{compression: (file, sha256 of the file)}, and the probe base image's own bytes."""
    system()  # fails loudly without libvirtd or the probe image
    raw = (PROBE / "probe-base.qcow2").read_bytes()
    where = tmp_path_factory.mktemp("compressed-images")
    files = {}
    for kind, compress in COMPRESSORS.items():
        path = where / f"probe-base.qcow2.{kind}"
        path.write_bytes(compress(raw))
        files[kind] = (path, sha256_bytes(path.read_bytes()))
    yield files, raw
    for _, digest in files.values():
        shutil.rmtree(IMAGE_CACHE / digest, ignore_errors=True)


def _boot_from(source: str, digest: str, subnet: str) -> tuple[dict, str]:
    """A probe VM whose base image is imported from `source`; its probe line and the imported volume's sha256."""
    conn = system()
    world, image = probe_node(subnet, image_source=source, image_sha256=digest)
    ledger = Ledger()
    try:
        made = create_node(ledger, world, image, ignition_for(world))
        line = probe_line(world)
        volume = conn.storageVolLookupByKey(made["base"][1])
        return line, transfer.volume_sha256(conn, volume)
    finally:
        problems = ledger.clean()
        remove_logs(world.domain.name)
        assert not problems, f"cleanup failed: {problems}"


def test_xz_image_from_a_prestaged_path_boots_a_vm(packed):
    files, raw = packed
    path, digest = files["xz"]
    line, imported = _boot_from(str(path), digest, "10.98.11")
    assert imported == sha256_bytes(raw), "the volume must hold the decompressed image"
    assert line["disk_marker"] == "eaf-probe-base v1" and line["errors"] == [], line


def test_gzip_image_downloaded_over_http_boots_a_vm(packed):
    files, raw = packed
    path, digest = files["gz"]
    with FileServer({"/probe-base.qcow2.gz": path.read_bytes()}) as server:
        line, imported = _boot_from(server.url("/probe-base.qcow2.gz"), digest, "10.98.12")
    assert imported == sha256_bytes(raw), "the volume must hold the decompressed image"
    assert line["disk_marker"] == "eaf-probe-base v1" and line["errors"] == [], line


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_provider_backends_step_hands_pulumi_libvirt_the_decompressed_image(packed, kind, tmp_path):
    files, raw = packed
    path, digest = files[kind]
    with FileServer({f"/probe-base.qcow2.{kind}": path.read_bytes()}) as server:
        pin = ImagePin(server.url(f"/probe-base.qcow2.{kind}"), digest, uncompressed_sha256=sha256_bytes(raw))
        result = ImageChecksumProvider().create({
            "source": pin.source, "sha256": digest, "checksum_file": None,
            "uncompressed_sha256": pin.uncompressed_sha256, "cache_dir": str(tmp_path),
            "path": str(planned_path(pin, tmp_path))})
    imported = result.outs["path"]
    assert open(imported, "rb").read() == raw, f"{imported} is not the decompressed image"
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", imported], capture_output=True,
                                     text=True, check=True).stdout)
    manifest = json.loads((PROBE / "manifest.json").read_text())
    assert (info["format"], info["virtual-size"]) == ("qcow2", manifest["base_image"]["virtual_bytes"]), info

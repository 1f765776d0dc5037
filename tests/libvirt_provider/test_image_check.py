"""The step that runs before pulumi-libvirt imports the OS image (VerifiedImage): real files, real hashing, real
decompression and a real download over HTTP on loopback. The fetching itself is tested in
tests/libvirt_layer/test_images.py; here: what the step hands the provider."""

from __future__ import annotations

import gzip
import hashlib
import lzma

import pytest

from infra.libvirt.images import ImageError, ImagePin
from infra.libvirt.provider.image_check import ImageChecksumProvider, planned_path
from infra.spec.errors import ConfigError
from tests.libvirt_provider.support import provider_run
from tests.support.http_files import FileServer

IMAGE = b"QFI\xfb" + bytes(range(256)) * 64  # qcow2 magic and some bytes: content only matters for its hash


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _props(source: str, sha256: str | None, cache, checksum_file=None, uncompressed=None) -> dict:
    pin = ImagePin(source, sha256, checksum_file, uncompressed)
    path = str(planned_path(pin, cache)) if sha256 or checksum_file else None
    return {"source": source, "sha256": sha256, "checksum_file": checksum_file, "uncompressed_sha256": uncompressed,
            "cache_dir": str(cache), "path": path}


def test_prestaged_image_with_its_pinned_checksum_is_imported_from_where_it_is(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    result = ImageChecksumProvider().create(_props(str(image), _sha(IMAGE), tmp_path / "cache"))
    assert (result.outs["path"], result.outs["verified_sha256"]) == (str(image), _sha(IMAGE)), result.outs


def test_prestaged_image_with_another_checksum_stops_the_import_and_names_the_real_one(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    with pytest.raises(ValueError, match=f"sha256 is {_sha(IMAGE)} but the pin says {'0' * 64}"):
        ImageChecksumProvider().create(_props(str(image), "0" * 64, tmp_path / "cache"))


def test_missing_prestaged_image_says_where_it_was_expected(tmp_path):
    with pytest.raises(ValueError, match=r"missing.qcow2: pre-staged OS image not found .* eaf:osImage.path"):
        ImageChecksumProvider().create(_props(str(tmp_path / "missing.qcow2"), "0" * 64, tmp_path / "cache"))


def test_checksum_file_beside_the_image_gives_the_pin(tmp_path):
    image = tmp_path / "probe-base.qcow2"
    image.write_bytes(IMAGE)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'1' * 64}  other.qcow2\n{_sha(IMAGE)}  probe-base.qcow2\n")
    result = ImageChecksumProvider().create(_props(str(image), None, tmp_path / "cache", checksum_file=str(sums)))
    assert result.outs["verified_sha256"] == _sha(IMAGE)


@pytest.mark.parametrize("suffix, compress", [(".xz", lzma.compress), (".gz", gzip.compress)])
def test_compressed_download_hands_the_provider_the_decompressed_image(tmp_path, suffix, compress):
    packed = compress(IMAGE)
    with FileServer({f"/fcos.qcow2{suffix}": packed}) as server:
        result = ImageChecksumProvider().create(_props(server.url(f"/fcos.qcow2{suffix}"), _sha(packed),
                                                       tmp_path / "cache", uncompressed=_sha(IMAGE)))
    imported = tmp_path / "cache" / _sha(packed) / "fcos.qcow2"
    assert result.outs["path"] == str(imported) and imported.read_bytes() == IMAGE
    assert (result.outs["verified_sha256"], result.outs["image_sha256"]) == (_sha(packed), _sha(IMAGE))


def test_compressed_prestaged_image_is_decompressed_before_the_import(tmp_path):
    packed = tmp_path / "fcos.qcow2.xz"
    packed.write_bytes(lzma.compress(IMAGE))
    result = ImageChecksumProvider().create(_props(str(packed), _sha(packed.read_bytes()), tmp_path / "cache"))
    assert result.outs["path"] != str(packed) and open(result.outs["path"], "rb").read() == IMAGE


def test_download_with_another_checksum_leaves_nothing_in_the_cache(tmp_path):
    with FileServer({"/fcos.qcow2": IMAGE}) as server:
        with pytest.raises(ImageError, match=f"sha256 is {_sha(IMAGE)}"):
            ImageChecksumProvider().create(_props(server.url("/fcos.qcow2"), "0" * 64, tmp_path / "cache"))
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name != ".lock"] == []


def test_provider_diff_fetches_again_when_the_cached_file_is_gone(tmp_path):
    props = _props("https://example.invalid/a.qcow2", "0" * 64, tmp_path)
    diff = ImageChecksumProvider().diff("id", props, props)
    assert diff.changes and diff.replaces == ["path"], diff.__dict__


def test_the_import_path_is_known_when_the_program_is_evaluated(tmp_path):
    """A download or a compressed image is imported from the cache entry of its pin; a plain pre-staged image
    from where it is."""
    assert planned_path(ImagePin("https://x.invalid/fcos.qcow2.xz", "a" * 64), tmp_path) == (
        tmp_path / ("a" * 64) / "fcos.qcow2")
    assert str(planned_path(ImagePin("/images/plain.qcow2", "a" * 64), tmp_path)) == "/images/plain.qcow2"


def test_url_image_without_a_pinned_sha256_is_refused_before_anything_is_created():
    """The spec already refuses an image without any pin; a downloaded image must pin sha256 itself (a checksum
    file names the checksum of a pre-staged file on this machine, and the download cache is keyed by the pin)."""
    overrides = {"osImage": {"url": "https://example.invalid/own-image.qcow2", "path": None,
                             "checksumFile": ".work/probe/SHA256SUMS"}}
    with pytest.raises(ConfigError) as error:
        provider_run("local", overrides)
    message = str(error.value)
    assert "eaf:osImage.sha256" in message and "imports a URL without any checksum check" in message, message

"""The checksum step that runs before pulumi-libvirt imports the OS image: real files, real hashing, and a real
download through urllib (from a file:// URL, since nothing else is reachable here)."""

from __future__ import annotations

import hashlib
import lzma

import pytest

from infra.libvirt.provider.image_check import (
    ImageChecksumProvider,
    cached_image_path,
    download_verified,
    expected_sha256,
    verify_local,
)
from infra.spec.errors import ConfigError
from tests.libvirt_provider.support import provider_run

IMAGE = b"QFI\xfb" + bytes(range(256)) * 64  # qcow2 magic and some bytes: content only matters for its hash


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_prestaged_image_with_its_pinned_checksum_passes(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    assert verify_local(image, _sha(IMAGE)) == _sha(IMAGE)


def test_prestaged_image_with_another_checksum_stops_the_import_and_names_the_real_one(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    with pytest.raises(ValueError, match=f"sha256 is {_sha(IMAGE)} but the pin says {'0' * 64}"):
        verify_local(image, "0" * 64)


def test_missing_prestaged_image_says_where_it_was_expected(tmp_path):
    with pytest.raises(ValueError, match=r"missing.qcow2: pre-staged OS image not found .* eaf:osImage.path"):
        verify_local(tmp_path / "missing.qcow2", "0" * 64)


def test_checksum_file_beside_the_image_gives_the_pin(tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'1' * 64}  other.qcow2\n{_sha(IMAGE)}  probe-base.qcow2\n")
    assert expected_sha256(None, str(sums), str(tmp_path / "probe-base.qcow2")) == _sha(IMAGE)
    with pytest.raises(ValueError, match="lists no checksum for absent.qcow2"):
        expected_sha256(None, str(sums), "/x/absent.qcow2")


def test_xz_download_is_verified_then_decompressed_into_the_cache(tmp_path):
    packed = lzma.compress(IMAGE)
    source = tmp_path / "fcos.qcow2.xz"
    source.write_bytes(packed)
    dest = cached_image_path(tmp_path / "cache", source.as_uri(), _sha(packed))
    assert dest.name == "fcos.qcow2", dest
    assert download_verified(source.as_uri(), _sha(packed), dest) == _sha(packed)
    assert dest.read_bytes() == IMAGE
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fcos.qcow2"], "partial files left behind"


def test_download_with_another_checksum_leaves_nothing_in_the_cache(tmp_path):
    source = tmp_path / "fcos.qcow2"
    source.write_bytes(IMAGE)
    dest = cached_image_path(tmp_path / "cache", source.as_uri(), "0" * 64)
    with pytest.raises(ValueError, match=f"sha256 is {_sha(IMAGE)}"):
        download_verified(source.as_uri(), "0" * 64, dest)
    assert list(dest.parent.iterdir()) == [], "a mismatching download must not stay in the cache"


def test_provider_create_verifies_a_prestaged_image_and_reports_its_checksum(tmp_path):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    result = ImageChecksumProvider().create(
        {"source": str(image), "sha256": _sha(IMAGE), "checksum_file": None, "path": str(image)}
    )
    assert result.outs["verified_sha256"] == _sha(IMAGE) and result.outs["path"] == str(image), result.outs


def test_provider_diff_fetches_again_when_the_cached_file_is_gone(tmp_path):
    props = {"source": "https://example.invalid/a.qcow2", "sha256": "0" * 64, "checksum_file": None,
             "path": str(tmp_path / "gone.qcow2")}
    diff = ImageChecksumProvider().diff("id", props, props)
    assert diff.changes and diff.replaces == ["path"], diff.__dict__


def test_url_image_without_a_pinned_sha256_is_refused_before_anything_is_created():
    """The spec already refuses an image without any pin; a downloaded image must pin sha256 itself (a checksum
    file names the checksum of a pre-staged file on this machine, and the download cache is keyed by the pin)."""
    overrides = {"osImage": {"url": "https://example.invalid/own-image.qcow2", "path": None,
                             "checksumFile": ".work/probe/SHA256SUMS"}}
    with pytest.raises(ConfigError) as error:
        provider_run("local", overrides)
    message = str(error.value)
    assert "eaf:osImage.sha256" in message and "imports a URL without any checksum check" in message, message

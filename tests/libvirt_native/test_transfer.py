"""Getting the OS image on hand and verified before anything is created on a hypervisor."""

from __future__ import annotations

import hashlib

import pytest

from infra.libvirt.native.transfer import ImageError, verified_image


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "os.qcow2"
    path.write_bytes(b"QFI\xfb" + bytes(4096))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_local_image_with_the_pinned_checksum_is_used_in_place(image):
    path, digest = image
    with verified_image(str(path), digest) as found:
        assert found == path


def test_local_image_with_another_checksum_is_refused_naming_both_checksums(image):
    path, digest = image
    with pytest.raises(ImageError) as error:
        with verified_image(str(path), "0" * 64):
            pass
    assert digest in str(error.value) and "0" * 64 in str(error.value) and str(path) in str(error.value)


def test_missing_local_image_says_how_to_make_it(tmp_path):
    with pytest.raises(ImageError) as error:
        with verified_image(str(tmp_path / "absent.qcow2"), "0" * 64):
            pass
    assert "does not exist" in str(error.value) and "build-probe-image" in str(error.value)


def test_unpinned_image_is_refused(image):
    with pytest.raises(ImageError) as error:
        with verified_image(str(image[0]), None):
            pass
    assert "no sha256 pin" in str(error.value)


def test_url_image_is_downloaded_to_a_temporary_file_and_verified(image):
    path, digest = image
    with verified_image(path.as_uri(), digest) as downloaded:
        assert downloaded != path and downloaded.read_bytes() == path.read_bytes()
        scratch = downloaded
    assert not scratch.exists(), "the downloaded copy must be removed afterwards"


def test_url_image_with_another_checksum_is_refused(image):
    with pytest.raises(ImageError) as error:
        with verified_image(image[0].as_uri(), "0" * 64):
            pass
    assert "sha256" in str(error.value)


def test_unreachable_url_is_reported_with_the_url():
    url = "http://127.0.0.1:9/eaf-image.qcow2"  # discard port: nothing listens
    with pytest.raises(ImageError) as error:
        with verified_image(url, "0" * 64):
            pass
    assert f"cannot download OS image {url}" in str(error.value)

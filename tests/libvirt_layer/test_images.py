"""Getting the OS image on hand before anything reaches a hypervisor (infra/libvirt/images.py, both backends):
real files, real xz/gzip, real HTTP downloads from a server on loopback."""

from __future__ import annotations

import gzip
import hashlib
import lzma
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.libvirt.images import ImageError, ImagePin, Retry, prepare
from tests.support.http_files import FileServer

IMAGE = b"QFI\xfb" + bytes(range(256)) * 300  # qcow2 magic and some bytes: content only matters for its hash
FAST = Retry(attempts=3, first_delay_s=0.01)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def _files(cache) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file() and p.name != ".lock")


# --- pre-staged files ---------------------------------------------------------------------------------------------


def test_prestaged_plain_image_with_its_pin_is_used_in_place(tmp_path, cache):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    local = prepare(ImagePin(str(image), _sha(IMAGE)), cache)
    assert (local.path, local.sha256, local.size, local.compression) == (image, _sha(IMAGE), len(IMAGE), None)
    assert not cache.exists(), "a plain pre-staged image is not copied"


def test_prestaged_image_with_another_checksum_is_refused_naming_both(tmp_path, cache):
    image = tmp_path / "base.qcow2"
    image.write_bytes(IMAGE)
    with pytest.raises(ImageError, match=f"sha256 is {_sha(IMAGE)} but the pin says {'0' * 64}"):
        prepare(ImagePin(str(image), "0" * 64), cache)


def test_missing_prestaged_image_says_how_to_make_it(tmp_path, cache):
    with pytest.raises(ImageError, match=r"absent.qcow2: pre-staged OS image not found .*build-probe-image"):
        prepare(ImagePin(str(tmp_path / "absent.qcow2"), "0" * 64), cache)


def test_unpinned_image_is_refused(tmp_path, cache):
    with pytest.raises(ImageError, match="no sha256 pin"):
        prepare(ImagePin(str(tmp_path / "x.qcow2"), None), cache)


def test_checksum_file_beside_the_image_gives_the_pin(tmp_path, cache):
    image = tmp_path / "probe-base.qcow2"
    image.write_bytes(IMAGE)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'1' * 64}  other.qcow2\n{_sha(IMAGE)}  probe-base.qcow2\n")
    assert prepare(ImagePin(str(image), None, str(sums)), cache).sha256 == _sha(IMAGE)


@pytest.mark.parametrize("suffix, compress", [(".xz", lzma.compress), (".gz", gzip.compress)])
def test_prestaged_compressed_image_is_decompressed_into_the_cache(tmp_path, cache, suffix, compress):
    packed = compress(IMAGE)
    image = tmp_path / f"fcos.qcow2{suffix}"
    image.write_bytes(packed)
    local = prepare(ImagePin(str(image), _sha(packed), uncompressed_sha256=_sha(IMAGE)), cache)
    assert local.path == cache / _sha(packed) / "fcos.qcow2" and local.path.read_bytes() == IMAGE
    assert (local.sha256, local.source_sha256, local.compression) == (_sha(IMAGE), _sha(packed), suffix[1:])
    assert image.read_bytes() == packed, "the pre-staged file is left as it is"


def test_a_suffix_the_content_contradicts_is_refused(tmp_path, cache):
    image = tmp_path / "fcos.qcow2.xz"
    image.write_bytes(gzip.compress(IMAGE))
    with pytest.raises(ImageError, match=r"named \.xz but its content is \.gz data"):
        prepare(ImagePin(str(image), _sha(image.read_bytes())), cache)


def test_compressed_content_without_a_suffix_is_recognised_by_its_magic_bytes(tmp_path, cache):
    image = tmp_path / "fcos.qcow2"
    image.write_bytes(lzma.compress(IMAGE))
    local = prepare(ImagePin(str(image), _sha(image.read_bytes())), cache)
    assert local.compression == "xz" and local.path.read_bytes() == IMAGE


def test_corrupt_compressed_data_is_refused_and_leaves_nothing(tmp_path, cache):
    image = tmp_path / "fcos.qcow2.xz"
    image.write_bytes(lzma.compress(IMAGE)[:200])
    with pytest.raises(ImageError, match="cannot decompress its xz data"):
        prepare(ImagePin(str(image), _sha(image.read_bytes())), cache)
    assert _files(cache) == []


def test_a_wrong_uncompressed_pin_is_refused_and_leaves_nothing(tmp_path, cache):
    image = tmp_path / "fcos.qcow2.gz"
    image.write_bytes(gzip.compress(IMAGE))
    with pytest.raises(ImageError, match=f"decompressed image has sha256 {_sha(IMAGE)} but uncompressedSha256 pins"):
        prepare(ImagePin(str(image), _sha(image.read_bytes()), uncompressed_sha256="0" * 64), cache)
    assert _files(cache) == []


# --- downloads ----------------------------------------------------------------------------------------------------


def test_download_is_verified_decompressed_and_kept_once_in_the_cache(cache):
    packed = lzma.compress(IMAGE)
    with FileServer({"/fcos.qcow2.xz": packed}) as server:
        pin = ImagePin(server.url("/fcos.qcow2.xz"), _sha(packed), uncompressed_sha256=_sha(IMAGE))
        first, second = prepare(pin, cache, FAST), prepare(pin, cache, FAST)
    assert first == second and first.path.read_bytes() == IMAGE
    assert server.requests["/fcos.qcow2.xz"] == 1, "the second run must use the cache"
    assert _files(cache) == [f"{_sha(packed)}/fcos.qcow2", f"{_sha(packed)}/image.json"]


def test_hosts_preparing_at_once_share_one_download(cache):
    packed = gzip.compress(IMAGE)
    with FileServer({"/scos.qcow2.gz": packed}) as server:
        pin = ImagePin(server.url("/scos.qcow2.gz"), _sha(packed))
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: prepare(pin, cache, FAST), range(4)))
    assert len({r.path for r in results}) == 1 and server.requests["/scos.qcow2.gz"] == 1


def test_download_with_another_checksum_leaves_nothing_in_the_cache(cache):
    with FileServer({"/fcos.qcow2": IMAGE}) as server:
        with pytest.raises(ImageError, match=f"sha256 is {_sha(IMAGE)}"):
            prepare(ImagePin(server.url("/fcos.qcow2"), "0" * 64), cache, FAST)
    assert _files(cache) == []


def test_server_errors_are_retried_with_backoff(cache):
    with FileServer({"/fcos.qcow2": IMAGE}) as server:
        server.fail("/fcos.qcow2", 503, times=2)
        local = prepare(ImagePin(server.url("/fcos.qcow2"), _sha(IMAGE)), cache, FAST)
    assert local.path.read_bytes() == IMAGE and server.requests["/fcos.qcow2"] == 3


def test_a_truncated_body_is_retried(cache):
    with FileServer({"/fcos.qcow2": IMAGE}) as server:
        server.truncate("/fcos.qcow2")
        local = prepare(ImagePin(server.url("/fcos.qcow2"), _sha(IMAGE)), cache, FAST)
    assert local.sha256 == _sha(IMAGE) and server.requests["/fcos.qcow2"] == 2


def test_not_found_is_final_and_not_retried(cache):
    with FileServer({}) as server:
        with pytest.raises(ImageError, match="cannot download OS image .*HTTP 404"):
            prepare(ImagePin(server.url("/gone.qcow2"), "0" * 64), cache, FAST)
    assert server.requests["/gone.qcow2"] == 1


def test_retries_give_up_naming_the_url_and_the_attempts(cache):
    with FileServer({"/fcos.qcow2": IMAGE}) as server:
        server.fail("/fcos.qcow2", 502, times=5)
        url = server.url("/fcos.qcow2")
        with pytest.raises(ImageError, match=f"cannot download OS image {url}: HTTP 502 .*after 3 attempts"):
            prepare(ImagePin(url, _sha(IMAGE)), cache, FAST)
    assert server.requests["/fcos.qcow2"] == 3


def test_unreachable_url_is_reported_with_the_url(cache):
    url = "http://127.0.0.1:9/eaf-image.qcow2"  # discard port: nothing listens
    with pytest.raises(ImageError, match=f"cannot download OS image {url}"):
        prepare(ImagePin(url, "0" * 64), cache, FAST)


def test_retry_delays_grow_exponentially():
    assert list(Retry(attempts=4, first_delay_s=2.0, factor=2.0).delays()) == [2.0, 4.0, 8.0]

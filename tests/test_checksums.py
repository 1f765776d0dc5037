"""One sha256 and one SHA256SUMS reader for the project (infra/checksums.py)."""

from __future__ import annotations

import hashlib
import io

import pytest

from infra.checksums import ChecksumFileError, listed_sha256, parse_sha256sums, sha256_file, sha256_stream

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_sha256_of_a_file_and_a_stream_is_hashlibs(tmp_path):
    data = bytes(range(256)) * 40_000  # several read chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_stream(io.BytesIO(data)) == hashlib.sha256(data).hexdigest()


def test_sha256sum_text_binary_and_tag_lines_are_read_alike():
    text = f"{A}  text.qcow2\n{B} *binary.qcow2\nSHA256 (tagged.qcow2) = {C.upper()}\n\n# comment\n"
    assert parse_sha256sums(text) == {"text.qcow2": A, "binary.qcow2": B, "tagged.qcow2": C}


def test_a_name_with_spaces_is_kept_whole():
    assert parse_sha256sums(f"{A}  my image.qcow2\n") == {"my image.qcow2": A}


def test_a_malformed_line_is_an_error_naming_the_file_and_line():
    with pytest.raises(ChecksumFileError, match=r"SUMS line 2: not a sha256sum line"):
        parse_sha256sums(f"{A}  ok.qcow2\n{A[:10]}  short.qcow2\n", "SUMS")


def test_listed_sha256_finds_the_file_by_its_base_name(tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{A}  other.qcow2\n{B}  probe-base.qcow2\n")
    assert listed_sha256(sums, str(tmp_path / "probe-base.qcow2")) == B
    with pytest.raises(ChecksumFileError, match="lists no checksum for absent.qcow2"):
        listed_sha256(sums, "/x/absent.qcow2")


def test_a_missing_checksum_file_says_which(tmp_path):
    with pytest.raises(ChecksumFileError, match="cannot read checksum file .*SHA256SUMS"):
        listed_sha256(tmp_path / "SHA256SUMS", "x.qcow2")

"""Copy with checksums between two folders (infra/ops/datasync.py): real files, real sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.ops.datasync import CopyError, LocalDirectory, sync_dataset, verify_dataset


def _write(root: Path, relative: str, content: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path]:
    source, destination = tmp_path / "active", tmp_path / "spare"
    _write(source, "jupyterhub/hub-db/jupyterhub.sqlite", b"SQLite format 3\x00" + bytes(range(256)) * 64)
    _write(source, "jupyterhub/claim-alice/analysis.ipynb", b'{"cells": []}\n')
    _write(source, "jupyterhub/claim-alice/data/events.root", b"\x01\x02" * 300_000)
    _write(source, "jupyterhub/claim-bob/.bashrc", b"export PS1='$ '\n")
    _write(source, "jupyterhub/not-a-claim/ignored.txt", b"not selected by claim-*\n")
    destination.mkdir()
    return source, destination


def _sync(source: Path, destination: Path, match: str = "claim-*", src_cls=LocalDirectory, dst_cls=LocalDirectory):
    return sync_dataset("user-homes", "jupyterhub", match, src_cls(source), dst_cls(destination), keep_tag="m1")


def test_every_selected_file_is_copied_byte_for_byte(sides) -> None:
    source, destination = sides
    result = _sync(source, destination)
    assert sorted(result.copied) == ["jupyterhub/claim-alice/analysis.ipynb", "jupyterhub/claim-alice/data/events.root",
                                     "jupyterhub/claim-bob/.bashrc"]
    for relative in result.copied:
        assert (destination / relative).read_bytes() == (source / relative).read_bytes(), relative
    assert not (destination / "jupyterhub/not-a-claim").exists()
    assert result.bytes == 14 + 600_000 + 16


def test_the_manifest_holds_each_files_sha256(sides) -> None:
    source, destination = sides
    result = _sync(source, destination)
    bashrc = source / "jupyterhub/claim-bob/.bashrc"
    assert result.manifest["jupyterhub/claim-bob/.bashrc"].sha256 == hashlib.sha256(bashrc.read_bytes()).hexdigest()


def test_a_rerun_copies_only_what_differs(sides) -> None:
    source, destination = sides
    _sync(source, destination)
    _write(source, "jupyterhub/claim-bob/new.txt", b"new\n")
    again = _sync(source, destination)
    assert again.copied == ["jupyterhub/claim-bob/new.txt"]
    assert len(again.unchanged) == 3


def test_a_differing_destination_file_is_kept_aside_not_overwritten(sides) -> None:
    source, destination = sides
    _write(destination, "jupyterhub/claim-bob/.bashrc", b"# the spare's old copy\n")
    result = _sync(source, destination)
    assert result.kept == {"jupyterhub/claim-bob/.bashrc": "jupyterhub/claim-bob/.bashrc.eaf-kept-m1"}
    assert (destination / "jupyterhub/claim-bob/.bashrc.eaf-kept-m1").read_bytes() == b"# the spare's old copy\n"
    assert (destination / "jupyterhub/claim-bob/.bashrc").read_bytes() == b"export PS1='$ '\n"


def test_a_kept_copy_is_never_overwritten_by_a_later_one(sides) -> None:
    source, destination = sides
    _write(destination, "jupyterhub/claim-bob/.bashrc", b"first\n")
    _sync(source, destination)
    _write(destination, "jupyterhub/claim-bob/.bashrc", b"second\n")
    _sync(source, destination)
    assert (destination / "jupyterhub/claim-bob/.bashrc.eaf-kept-m1").read_bytes() == b"first\n"
    assert (destination / "jupyterhub/claim-bob/.bashrc.eaf-kept-m1.2").read_bytes() == b"second\n"


def test_files_only_at_the_destination_are_left_alone(sides) -> None:
    source, destination = sides
    _write(destination, "jupyterhub/claim-carol/thesis.tex", b"\\documentclass{article}\n")
    result = _sync(source, destination)
    assert result.only_at_destination == ["jupyterhub/claim-carol/thesis.tex"]
    assert (destination / "jupyterhub/claim-carol/thesis.tex").is_file()


class _FlippingLink(LocalDirectory):
    """A destination whose write path corrupts one byte of one file (a bad disk or link): fault injection."""

    def write(self, path: str, chunks: Iterator[bytes]) -> object:
        if path.endswith("events.root"):
            data = bytearray(b"".join(chunks))
            data[1234] ^= 0xFF
            chunks = iter([bytes(data)])
        return super().write(path, chunks)


def test_a_corrupted_copy_is_detected_and_not_installed(sides) -> None:
    source, destination = sides
    with pytest.raises(CopyError) as failure:
        _sync(source, destination, dst_cls=_FlippingLink)
    message = str(failure.value)
    assert "jupyterhub/claim-alice/data/events.root arrived corrupted" in message, message
    assert "expected " + hashlib.sha256((source / "jupyterhub/claim-alice/data/events.root").read_bytes()).hexdigest() \
        in message
    assert not (destination / "jupyterhub/claim-alice/data/events.root").exists()


def test_a_source_that_changes_during_the_copy_is_reported(sides) -> None:
    source, destination = sides

    class _StillWriting(LocalDirectory):
        """The hub still running: the database grows while the copy reads it."""

        def read(self, path: str) -> Iterator[bytes]:
            yield from super().read(path)
            if path.endswith(".bashrc"):
                (source / "jupyterhub/claim-alice/analysis.ipynb").write_bytes(b'{"cells": [1]}\n')

    with pytest.raises(CopyError, match=r"the source changed during the copy \(jupyterhub/claim-alice/analysis"):
        _sync(source, destination, src_cls=_StillWriting)


def test_verify_finds_a_file_damaged_after_the_copy(sides) -> None:
    source, destination = sides
    result = _sync(source, destination)
    (destination / "jupyterhub/claim-bob/.bashrc").write_bytes(b"tampered\n")
    expected = {path: entry.sha256 for path, entry in result.manifest.items()}
    problems = verify_dataset("user-homes", "jupyterhub", "claim-*", LocalDirectory(destination), expected)
    assert len(problems) == 1 and problems[0].startswith("dataset user-homes: jupyterhub/claim-bob/.bashrc at "
                                                         f"local directory {destination} has sha256 "), problems


def test_dataset_paths_cannot_leave_the_root(sides) -> None:
    source, destination = sides
    with pytest.raises(ValueError, match="stay inside"):
        sync_dataset("x", "../etc", "*", LocalDirectory(source), LocalDirectory(destination), keep_tag="m1")

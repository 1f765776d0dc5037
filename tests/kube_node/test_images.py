"""Locally built OCI images (tests/support/images.py): what the archive holds, when it is rebuilt, what is refused.

Unit tier: builds small images in a temporary cache, no containerd needed.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from tests.support.images import (
    DirectoryLayer,
    FilesLayer,
    ImageConfig,
    ImageFile,
    ImageSpec,
    ImageSpecError,
    TarLayer,
    build_image,
)


def _spec(source: Path, ref: str = "eaf.local/tool:1.0", **config) -> ImageSpec:
    return ImageSpec(
        ref=ref,
        layers=(FilesLayer((ImageFile("/usr/bin/tool", source=source), ImageFile("/bin/t", symlink_to="tool"))),),
        config=ImageConfig(entrypoint=("/usr/bin/tool",), **config),
    )


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    path = tmp_path / "tool"
    path.write_text("#!/bin/sh\necho tool\n")
    path.chmod(0o755)
    return path


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _blob(members: dict[str, bytes], digest: str) -> bytes:
    return members[f"blobs/sha256/{digest.split(':')[1]}"]


def test_archive_is_an_oci_layout_whose_index_names_the_image_for_containerd(tool, tmp_path):
    built = build_image(_spec(tool), tmp_path / "cache")
    members = _members(built.archive)
    index = json.loads(members["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "eaf.local/tool:1.0"
    assert entry["digest"] == built.manifest_digest
    assert json.loads(members["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}


def test_every_blob_matches_its_digest(tool, tmp_path):
    built = build_image(_spec(tool), tmp_path / "cache")
    members = _members(built.archive)
    for name, data in members.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(_blob(members, built.manifest_digest))
    config = json.loads(_blob(members, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
    assert config["config"]["Entrypoint"] == ["/usr/bin/tool"]
    assert (config["architecture"], config["os"]) == ("amd64", "linux")


def test_layer_holds_the_files_with_parents_modes_and_root_owner(tool, tmp_path):
    built = build_image(_spec(tool), tmp_path / "cache")
    layer = _blob(_members(built.archive), built.layer_digests[0])
    layer_path = tmp_path / "layer.tar"
    layer_path.write_bytes(layer)
    with tarfile.open(layer_path) as tar:
        entries = {m.name: m for m in tar.getmembers()}
    assert list(entries) == ["bin", "bin/t", "usr", "usr/bin", "usr/bin/tool"]
    assert entries["usr/bin/tool"].mode == 0o755
    assert entries["bin/t"].issym() and entries["bin/t"].linkname == "tool"
    assert {(m.uid, m.gid, m.mtime) for m in entries.values()} == {(0, 0, 0)}


def test_same_inputs_give_the_same_digests_in_another_cache(tool, tmp_path):
    first = build_image(_spec(tool), tmp_path / "a")
    second = build_image(_spec(tool), tmp_path / "b")
    assert first.manifest_digest == second.manifest_digest
    assert first.archive.read_bytes() == second.archive.read_bytes()


def test_an_unchanged_image_is_not_rebuilt(tool, tmp_path):
    first = build_image(_spec(tool), tmp_path / "cache")
    mtime = first.archive.stat().st_mtime_ns
    again = build_image(_spec(tool), tmp_path / "cache")
    assert again.archive == first.archive
    assert again.archive.stat().st_mtime_ns == mtime


def test_changed_file_content_makes_a_new_image(tool, tmp_path):
    first = build_image(_spec(tool), tmp_path / "cache")
    tool.write_text("#!/bin/sh\necho changed\n")
    second = build_image(_spec(tool), tmp_path / "cache")
    assert second.archive != first.archive
    assert second.layer_digests != first.layer_digests


def test_changed_config_makes_a_new_image_with_the_same_layer(tool, tmp_path):
    first = build_image(_spec(tool), tmp_path / "cache")
    second = build_image(_spec(tool, user="1000"), tmp_path / "cache")
    assert second.manifest_digest != first.manifest_digest
    assert second.layer_digests == first.layer_digests


def test_directory_and_tar_layers_are_stacked_in_order(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=test\n")
    tar_layer = tmp_path / "extra.tar"
    with tarfile.open(tar_layer, "w") as tar:
        tar.add(root / "etc", arcname="opt")
    spec = ImageSpec(ref="eaf.local/stack:2", layers=(DirectoryLayer(root), TarLayer(tar_layer)))
    built = build_image(spec, tmp_path / "cache")
    assert len(built.layer_digests) == 2
    # A ready-made tar is used byte for byte: its digest is the file's.
    assert built.layer_digests[1] == "sha256:" + hashlib.sha256(tar_layer.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "ref",
    ["busybox", "eaf.local/busybox", "eaf.local/BusyBox:1", "eaf.local/busybox:latest extra"],
)
def test_a_reference_without_registry_name_and_tag_is_refused(tool, tmp_path, ref):
    with pytest.raises(ImageSpecError, match=r"ImageSpec\.ref=.*fix:"):
        build_image(_spec(tool, ref=ref), tmp_path / "cache")


def test_a_missing_source_file_is_refused_with_its_path(tmp_path):
    with pytest.raises(ImageSpecError, match=r"ImageFile\.source=.*nope.*no such file"):
        build_image(_spec(tmp_path / "nope"), tmp_path / "cache")


def test_a_compressed_tar_layer_is_refused(tmp_path):
    layer = tmp_path / "layer.tar.gz"
    with tarfile.open(layer, "w:gz"):
        pass
    spec = ImageSpec(ref="eaf.local/x:1", layers=(TarLayer(layer),))
    with pytest.raises(ImageSpecError, match=r"TarLayer\.path=.*compressed"):
        build_image(spec, tmp_path / "cache")


def test_a_relative_path_inside_the_image_is_refused(tool, tmp_path):
    spec = ImageSpec(ref="eaf.local/x:1", layers=(FilesLayer((ImageFile("usr/bin/tool", source=tool),)),))
    with pytest.raises(ImageSpecError, match=r"ImageFile\.path='usr/bin/tool'"):
        build_image(spec, tmp_path / "cache")

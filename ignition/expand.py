"""A node's Ignition config as a folder people can read: every file and unit decoded, merged configs pretty-printed.

    <node>.d/files/<absolute path>   file contents as the node will have them
    <node>.d/units/<unit name>       systemd units (and their drop-ins as <unit>.d/<drop-in>)
    <node>.d/merged-<i>.ign          inline configs it merges (OKD's pointer), indented
    <node>.d/kernel-arguments        one per line, when there are any
Everything is written 0600: the bootstrap node's files hold the pull secret.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath

from ignition.decode import Decoded


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _inside(root: Path, absolute: str) -> Path:
    """`absolute` (a path on the node) under `root`; refuses `..` so a config cannot write outside the folder."""
    relative = PurePosixPath(absolute).relative_to("/")
    if ".." in relative.parts:
        raise ValueError(f"refusing to expand path with '..': {absolute}")
    return root.joinpath(*relative.parts)


def expand(text: str, folder: Path) -> None:
    """Replace `folder` with the readable form of the config `text`."""
    if folder.exists():
        shutil.rmtree(folder)
    config = Decoded.of(text)
    for path, entry in sorted(config.files().items()):
        contents = entry.get("contents", {})
        if contents.get("source", "").startswith("data:") or "contents" not in entry:
            _write(_inside(folder / "files", path), config.file_bytes(path))
    for name, unit in sorted(config.units().items()):
        if "contents" in unit:
            _write(folder / "units" / name, unit["contents"].encode())
        for dropin in unit.get("dropins", []):
            _write(folder / "units" / f"{name}.d" / dropin["name"], dropin.get("contents", "").encode())
    for i, merged in enumerate(config.merged_configs()):
        pretty = json.dumps(json.loads(merged), indent=2, sort_keys=True) + "\n"
        _write(folder / f"merged-{i}.ign", pretty.encode())
    if config.kernel_arguments():
        _write(folder / "kernel-arguments", ("\n".join(config.kernel_arguments()) + "\n").encode())

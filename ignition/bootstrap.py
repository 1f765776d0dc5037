"""The bootstrap node: OKD's bootstrap.ign, re-emitted small, plus the node specifics.

openshift-install writes every file as an uncompressed base64 data URL. The VM reads its Ignition through QEMU
fw_cfg, and under TCG that read time grows with the square of the size (about 6 s for 1 MiB), so every file whose
contents are inline is rewritten as a gzip-compressed data URL. Nothing else of OKD's document changes.
"""

from __future__ import annotations

import copy
from typing import Any

from ignition.document import decode_data_url, gzip_data_url, ignition_document
from ignition.pointer import read_okd_config


def compressed_contents(contents: dict[str, Any]) -> dict[str, Any]:
    """A file's `contents` (or `append` item) as a gzip data URL; left alone when it is not inline data, is already
    compressed, or carries a verification hash (which is over the stored bytes, so it must not change)."""
    source = contents.get("source")
    if not source or not source.startswith("data:") or contents.get("compression") or contents.get("verification"):
        return contents
    return {**contents, "source": gzip_data_url(decode_data_url(source)), "compression": "gzip"}


def _compressed_file(entry: dict[str, Any]) -> dict[str, Any]:
    entry = copy.deepcopy(entry)
    if "contents" in entry:
        entry["contents"] = compressed_contents(entry["contents"])
    if "append" in entry:
        entry["append"] = [compressed_contents(item) for item in entry["append"]]
    return entry


def _with_core_keys(users: list[dict[str, Any]], ssh_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """OKD's users with the stack's keys added to `core` (one entry per user name, or Ignition refuses the config)."""
    users = copy.deepcopy(users)
    core = next((u for u in users if u.get("name") == "core"), None)
    if core is None:
        if ssh_keys:
            users.append({"name": "core", "sshAuthorizedKeys": list(ssh_keys)})
        return users
    keys = list(core.get("sshAuthorizedKeys") or [])
    core["sshAuthorizedKeys"] = keys + [k for k in ssh_keys if k not in keys]
    return users


def bootstrap_config(okd_bootstrap: str | None, version: str, files: tuple[dict[str, Any], ...],
                     users: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """With install off there is no bootstrap.ign: the node then gets its specifics only."""
    if okd_bootstrap is None:
        return ignition_document(version, files=files, users=users)
    # It holds the pull secret: never quoted in an error.
    document = read_okd_config(okd_bootstrap, "bootstrap config", holds_secrets=True)

    ours = {f["path"] for f in files}
    storage = document.setdefault("storage", {})
    # A path both write would make Ignition refuse the config; the node's own settings are the ones that must hold.
    kept = [_compressed_file(f) for f in storage.get("files", []) if f.get("path") not in ours]
    storage["files"] = kept + list(files)
    ssh_keys = tuple(k for u in users if u["name"] == "core" for k in u.get("sshAuthorizedKeys", []))
    merged_users = _with_core_keys(document.get("passwd", {}).get("users", []), ssh_keys)
    if merged_users:
        document.setdefault("passwd", {})["users"] = merged_users
    return document

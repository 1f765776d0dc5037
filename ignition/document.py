"""The building blocks of an Ignition document: canonical JSON, data URLs, file and unit entries.

Everything here is deterministic on purpose: the same input gives the same bytes, so `pulumi preview` never shows a
change that is not one (sorted keys, no whitespace, gzip with mtime 0 and a fixed level).
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any
from urllib.parse import quote, unquote_to_bytes

# A fixed level (and mtime 0) makes gzip's output a pure function of its input. 9: the bootstrap config is read
# through QEMU fw_cfg, whose read time grows with the square of the size under TCG, so every byte saved counts.
GZIP_LEVEL = 9

# Octal modes as Ignition wants them (decimal integers in JSON).
MODE_PUBLIC = 0o644
MODE_PRIVATE = 0o600  # NetworkManager ignores keyfiles anyone but root can read


def canonical_json(document: dict[str, Any]) -> str:
    """The one serialisation of an Ignition document: sorted keys, no insignificant whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def deterministic_gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def text_data_url(text: str) -> str:
    """A small text file as a readable, percent-encoded data URL (RFC 2397), so `render` output stays legible."""
    return "data:," + quote(text, safe="")


def gzip_data_url(data: bytes) -> str:
    """Gzip-compressed content as a base64 data URL; the entry using it must say `compression: gzip`."""
    return "data:;base64," + base64.b64encode(deterministic_gzip(data)).decode("ascii")


def file_entry(path: str, text: str, mode: int = MODE_PUBLIC) -> dict[str, Any]:
    """A root-owned file with plain text contents. `overwrite` so a file the OS image ships is replaced, not an
    error that stops the boot."""
    return {
        "path": path,
        "mode": mode,
        "overwrite": True,
        "user": {"name": "root"},
        "group": {"name": "root"},
        "contents": {"source": text_data_url(text)},
    }


def unit_entry(name: str, contents: str, enabled: bool = True) -> dict[str, Any]:
    return {"name": name, "enabled": enabled, "contents": contents}


def core_user(ssh_keys: list[str]) -> dict[str, Any]:
    """User `core` (CoreOS's login user) with the stack's SSH keys."""
    return {"name": "core", "sshAuthorizedKeys": list(ssh_keys)}


def config_source(document_text: str) -> dict[str, Any]:
    """An Ignition config embedded as a gzip data URL, for `ignition.config.merge`: kept byte-for-byte intact."""
    return {"source": gzip_data_url(document_text.encode("utf-8")), "compression": "gzip"}


def decode_data_url(url: str) -> bytes:
    """The bytes an RFC 2397 data URL carries (base64 or percent-encoded), as Ignition reads them."""
    if not url.startswith("data:") or "," not in url:
        raise ValueError(f"not a data URL: {url[:40]!r}")
    header, payload = url[len("data:"):].split(",", 1)
    if header.endswith(";base64"):
        return base64.b64decode(payload)
    return unquote_to_bytes(payload)


def ignition_document(version: str, *, merge: tuple[dict[str, Any], ...] = (), files: tuple[dict[str, Any], ...] = (),
                      units: tuple[dict[str, Any], ...] = (), users: tuple[dict[str, Any], ...] = (),
                      kernel_arguments: tuple[str, ...] = ()) -> dict[str, Any]:
    """An Ignition document with only the sections that have something in them."""
    document: dict[str, Any] = {"ignition": {"version": version}}
    if merge:
        document["ignition"]["config"] = {"merge": list(merge)}
    if files:
        document["storage"] = {"files": list(files)}
    if units:
        document["systemd"] = {"units": list(units)}
    if users:
        document["passwd"] = {"users": list(users)}
    if kernel_arguments:
        document["kernelArguments"] = {"shouldExist": list(kernel_arguments)}
    return document

"""Controllers and workers: OKD's role pointer config, merged, plus the node specifics OKD leaves to the installer.

The pointer (`master.ign`/`worker.ign` from openshift-install) names the machine-config server's URL and the CA to
trust it with. It is embedded whole as a merge source, byte-for-byte: Ignition applies a merged config's CA before
it fetches what that config merges, so the MCS fetch works exactly as with the pointer alone.
"""

from __future__ import annotations

import json
from typing import Any

from ignition.document import config_source, ignition_document

# The Ignition spec versions a pointer may have: what Debian's ignition-validate and FCOS/SCOS's Ignition both read.
READABLE_VERSIONS = ("3.0.0", "3.1.0", "3.2.0", "3.3.0")


def read_okd_config(text: str, what: str, holds_secrets: bool = False) -> dict[str, Any]:
    """One of OKD's Ignition configs (it comes from another stage), parsed after checking that it is an Ignition 3
    document this project can read. A config that holds secrets is never quoted, not even its parse error."""
    try:
        document = json.loads(text)
        version = document["ignition"]["version"]
    except (ValueError, KeyError, TypeError) as error:
        detail = type(error).__name__ if holds_secrets else str(error)
        raise ValueError(f"OKD's {what} is not an Ignition document ({detail})") from None
    if version not in READABLE_VERSIONS:
        raise ValueError(f"OKD's {what} has Ignition spec {version}; readable: {READABLE_VERSIONS}")
    return document


def checked_pointer(text: str, role: str) -> str:
    """The pointer text unchanged, after checking it."""
    read_okd_config(text, f"{role} pointer config")
    return text


def merged_pointer_config(version: str, pointer_text: str, role: str, files: tuple[dict[str, Any], ...],
                          users: tuple[dict[str, Any], ...], kernel_arguments: tuple[str, ...] = ()) -> dict[str, Any]:
    return ignition_document(version, merge=(config_source(checked_pointer(pointer_text, role)),), files=files,
                             users=users, kernel_arguments=kernel_arguments)

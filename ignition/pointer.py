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


def checked_pointer(text: str, role: str) -> str:
    """The pointer text unchanged, after checking that it is an Ignition 3 document (it comes from another stage)."""
    try:
        document = json.loads(text)
        version = document["ignition"]["version"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"OKD's {role} pointer config is not an Ignition document: {error}") from None
    if version not in READABLE_VERSIONS:
        raise ValueError(f"OKD's {role} pointer config has Ignition spec {version}; readable: {READABLE_VERSIONS}")
    return text


def merged_pointer_config(version: str, pointer_text: str, role: str, files: tuple[dict[str, Any], ...],
                          users: tuple[dict[str, Any], ...], kernel_arguments: tuple[str, ...] = ()) -> dict[str, Any]:
    return ignition_document(version, merge=(config_source(checked_pointer(pointer_text, role)),), files=files,
                             users=users, kernel_arguments=kernel_arguments)

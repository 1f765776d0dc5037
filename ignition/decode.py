"""Reading an Ignition config back the way Ignition would: file contents (decompressed), units, users, merges.

Used by `python -m infra render --expand` (so people can read what a node will boot) and by the tests.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

from ignition.document import decode_data_url


def resource_bytes(resource: dict[str, Any]) -> bytes:
    """The bytes of an inline (data URL) resource, decompressed when it says `compression: gzip`."""
    data = decode_data_url(resource["source"])
    return gzip.decompress(data) if resource.get("compression") == "gzip" else data


@dataclass(frozen=True)
class Decoded:
    document: dict[str, Any]

    @classmethod
    def of(cls, text: str) -> Decoded:
        return cls(json.loads(text))

    @property
    def version(self) -> str:
        return self.document["ignition"]["version"]

    def files(self) -> dict[str, dict[str, Any]]:
        return {f["path"]: f for f in self.document.get("storage", {}).get("files", [])}

    def file_bytes(self, path: str) -> bytes:
        entry = self.files()[path]
        return resource_bytes(entry["contents"]) if "contents" in entry else b""

    def file_text(self, path: str) -> str:
        return self.file_bytes(path).decode("utf-8")

    def units(self) -> dict[str, dict[str, Any]]:
        return {u["name"]: u for u in self.document.get("systemd", {}).get("units", [])}

    def users(self) -> dict[str, dict[str, Any]]:
        return {u["name"]: u for u in self.document.get("passwd", {}).get("users", [])}

    def merged_configs(self) -> list[str]:
        """The texts of the inline configs this one merges, as Ignition fetches them."""
        merge = self.document["ignition"].get("config", {}).get("merge", [])
        return [resource_bytes(source).decode("utf-8") for source in merge if source["source"].startswith("data:")]

    def kernel_arguments(self) -> list[str]:
        return self.document.get("kernelArguments", {}).get("shouldExist", [])

"""A trivial Python dynamic provider for the engine smoke test: one file on disk per resource.

The smoke test copies this module next to the throw-away program's ``__main__.py``. The provider process the
engine starts (``pulumi-resource-pulumi-python``) unpickles the provider by module name, so the module must be
importable from the program directory, which is the provider process's working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider


class FileProvider(ResourceProvider):
    """Writes ``content`` to ``path`` on create and removes the file on delete."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["path"])
        path.write_text(props["content"], encoding="utf-8")
        return CreateResult(id_=str(path), outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Only the file's identity and content matter; a changed path or content needs a new file.
        changed = [key for key in ("path", "content") if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        Path(props["path"]).unlink(missing_ok=True)


class ManagedFile(Resource):
    """A file whose lifetime is managed by the engine."""

    path: pulumi.Output[str]
    content: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        path: pulumi.Input[str],
        content: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(FileProvider(), name, {"path": path, "content": content}, opts)

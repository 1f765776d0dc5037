"""sha256 of bytes, streams and files, and SHA256SUMS files: the one implementation the project uses.

A SHA256SUMS file is what `sha256sum` writes (`<64 hex>  name` in text mode, `<64 hex> *name` in binary mode) or
`sha256sum --tag` writes (`SHA256 (name) = <64 hex>`); blank lines and `#` comments are allowed, anything else is
an error naming the line, so a truncated or foreign file is never half-read.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO

CHUNK = 4 * 1024 * 1024
_GNU_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")
_TAG_LINE = re.compile(r"^SHA256 \((?P<name>.+)\) = (?P<digest>[0-9a-fA-F]{64})$")


class ChecksumFileError(ValueError):
    """A SHA256SUMS file that cannot be read, is malformed, or does not list the file asked for."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO) -> str:
    """The hex sha256 of everything left in `stream`, read in chunks."""
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with Path(path).open("rb") as stream:
        return sha256_stream(stream)


def parse_sha256sums(text: str, source: str = "SHA256SUMS") -> dict[str, str]:
    """{file name: lower-case hex sha256} of a SHA256SUMS text; `source` names the file in errors."""
    sums: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _GNU_LINE.match(line) or _TAG_LINE.match(line)
        if match is None:
            raise ChecksumFileError(f"{source} line {number}: not a sha256sum line ('<64 hex>  NAME' or "
                                    f"'SHA256 (NAME) = <64 hex>'): {raw[:80]!r}")
        sums[match["name"]] = match["digest"].lower()
    return sums


def listed_sha256(checksum_file: Path, name: str) -> str:
    """The sha256 that `checksum_file` lists for the file called `name` (its base name)."""
    path = Path(checksum_file)
    try:
        text = path.read_text()
    except OSError as error:
        raise ChecksumFileError(f"cannot read checksum file {path}: {error.strerror or error}") from None
    sums = parse_sha256sums(text, str(path))
    wanted = Path(name).name
    if wanted not in sums:
        raise ChecksumFileError(f"{path} lists no checksum for {wanted}")
    return sums[wanted]

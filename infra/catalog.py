"""Read-only data files of infra/data: version pins and MIG layouts, loaded once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"


@cache
def _load(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def versions() -> dict[str, Any]:
    """infra/data/versions.yaml: every external version, pinned in one place."""
    return _load("versions.yaml")


def mig_data() -> dict[str, Any]:
    """infra/data/mig-layouts.yaml: GPU models' MIG profiles and the named layouts."""
    return _load("mig-layouts.yaml")

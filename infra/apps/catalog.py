"""The VO catalog of JupyterHub server options (infra/data/apps/<file>), read and shape-checked."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from infra.catalog import DATA_DIR
from infra.spec.apps import Profile, VoCatalog
from infra.spec.errors import Problem

CATALOG_DIR = DATA_DIR / "apps"


def catalog_path(name: str) -> Path:
    return CATALOG_DIR / name


def _where(name: str, loc: tuple[object, ...]) -> str:
    text = f"infra/data/apps/{name}:"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("" if text.endswith(":") else ".") + str(part)
    return text


@cache
def load_catalog(name: str) -> tuple[VoCatalog | None, tuple[Problem, ...]]:
    """The catalog file, read and validated once per process."""
    path = catalog_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in CATALOG_DIR.glob("vo-catalog*.yaml")))
        return None, (Problem("eaf:apps.jupyterhub.catalog", name, f"no catalog file {path.name} in infra/data/apps",
                              f"use one of: {known}"),)
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    try:
        return VoCatalog.model_validate(raw), ()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(Problem(_where(name, loc), item.get("input"), item["msg"].removeprefix("Value error, "),
                                    f"fix the entry in infra/data/apps/{name}"))
        return None, tuple(problems)


def offered_profiles(catalog: VoCatalog, hub) -> tuple[Profile, ...]:
    """The catalog's profiles, then the stack's extra ones, in that order (the order users see)."""
    return (*catalog.profiles, *hub.extra_profiles)

"""The notebook image builds of infra/data/images/notebook-builds.yaml, typed and checked against the VO catalog.

Each VO flavour has one build. Its output is the flavour's pinned image (versions.yaml apps.images), so what the hub
spawns is exactly what CI built and scanned; a `scanOnly` flavour runs an upstream image as it is and is only scanned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, model_validator

from infra.apps.catalog import load_catalog
from infra.apps.images import pinned_images, why_unpinned
from infra.catalog import DATA_DIR
from infra.spec.base import Strict
from infra.spec.errors import Problem

BUILDS_FILE = DATA_DIR / "images" / "notebook-builds.yaml"
ALLOWLIST_FILE = DATA_DIR / "images" / "scan-allowlist.yaml"
WHERE = "infra/data/images/notebook-builds.yaml"


class InstallStep(Strict):
    """Packages installed with one of the base image's installers, each with a pinned version."""

    with_: Literal["apt", "dnf", "pip", "mamba"] = Field(alias="with")
    packages: tuple[str, ...] = Field(min_length=1)


class ImageBuild(Strict):
    scan_only: bool = False
    base: str | None = Field(None, description="pinned base image reference")
    user: str = Field("1000", pattern=r"^[0-9]+$", description="numeric USER (OKD assigns its own UID anyway)")
    install: tuple[InstallStep, ...] = ()

    @model_validator(mode="after")
    def _base_unless_scan_only(self) -> ImageBuild:
        if self.scan_only and (self.base is not None or self.install):
            raise ValueError("a scanOnly flavour has no base and no install steps")
        if not self.scan_only and self.base is None:
            raise ValueError("base is required (or scanOnly: true for an upstream image run as it is)")
        return self


class ImageBuilds(Strict):
    builds: dict[str, ImageBuild]


@dataclass(frozen=True)
class FlavourImage:
    """A flavour's build with the reference it produces."""

    flavour: str
    reference: str  # the pinned image the flavour runs (what is built, scanned and pushed)
    build: ImageBuild


def load_builds(path: Path = BUILDS_FILE) -> ImageBuilds:
    with open(path, encoding="utf-8") as handle:
        return ImageBuilds.model_validate(yaml.safe_load(handle) or {})


def build_problems(builds: ImageBuilds, catalog_name: str = "vo-catalog.yaml") -> list[Problem]:
    """Every flavour has exactly one build, every base is pinned, every package version is pinned."""
    catalog, catalog_problems = load_catalog(catalog_name)
    if catalog is None:
        return list(catalog_problems)
    problems = []
    for flavour in sorted(set(catalog.flavours) - set(builds.builds)):
        problems.append(Problem(f"{WHERE}:builds.{flavour}", None, "a VO flavour has no image build",
                                "add a build (or `scanOnly: true` if it runs an upstream image as it is)"))
    for flavour in sorted(set(builds.builds) - set(catalog.flavours)):
        problems.append(Problem(f"{WHERE}:builds.{flavour}", flavour, "no VO flavour of that name",
                                f"use one of: {', '.join(sorted(catalog.flavours))}"))
    for flavour, build in sorted(builds.builds.items()):
        if build.base is not None and (why := why_unpinned(build.base)) is not None:
            problems.append(Problem(f"{WHERE}:builds.{flavour}.base", build.base, f"unpinned base image: {why}",
                                    "pin a released tag or a digest"))
        for index, step in enumerate(build.install):
            for package in step.packages:
                if not _pinned(step.with_, package):
                    problems.append(Problem(f"{WHERE}:builds.{flavour}.install[{index}]", package,
                                            f"no version pinned for a {step.with_} package",
                                            _PIN_EXAMPLE[step.with_]))
    return problems


# apt and dnf packages come from the base's pinned release; pip and conda packages float unless pinned.
_PIN_EXAMPLE = {"pip": "write name==version", "mamba": "write name=version"}


def _pinned(installer: str, package: str) -> bool:
    if installer == "pip":
        return "==" in package
    if installer == "mamba":
        return "=" in package
    return True


@cache
def flavour_images() -> tuple[FlavourImage, ...]:
    """Every flavour's build and the reference it produces, in flavour order; raises on any problem."""
    builds = load_builds()
    problems = build_problems(builds)
    if problems:
        raise ValueError(f"{len(problems)} problem(s) in the image builds:\n" + "\n".join(p.render() for p in problems))
    catalog, _ = load_catalog("vo-catalog.yaml")
    assert catalog is not None
    images = pinned_images()
    return tuple(FlavourImage(name, images[catalog.flavours[name].image], builds.builds[name])
                 for name in sorted(builds.builds))


def flavour_image(flavour: str) -> FlavourImage:
    for image in flavour_images():
        if image.flavour == flavour:
            return image
    raise KeyError(f"no image build for flavour {flavour!r}; flavours: "
                   f"{', '.join(i.flavour for i in flavour_images())}")

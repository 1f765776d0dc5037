"""Build a flavour's notebook image with buildah: from its pinned base, its install steps, its labels and USER.

`plan(...)` is the buildah command lines (data, tested without buildah); `run(...)` executes them. The image is
committed under the flavour's pinned reference in buildah's storage and written as an OCI archive for the scan; CI
pushes it only after the scan passed (`buildah push`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.images.builds import FlavourImage, InstallStep

# As root inside the build; the image's USER is set afterwards. Each installer cleans its caches in the same layer.
_INSTALL = {
    "apt": lambda p: [["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *p],
                      ["apt-get", "clean"]],
    "dnf": lambda p: [["dnf", "install", "-y", "--setopt=install_weak_deps=False", *p], ["dnf", "clean", "all"]],
    "pip": lambda p: [["python3", "-m", "pip", "install", "--no-cache-dir", *p]],
    "mamba": lambda p: [["mamba", "install", "-y", *p], ["mamba", "clean", "-a", "-y"]],
}


@dataclass(frozen=True)
class BuildahOptions:
    storage_root: Path | None = None  # isolated storage (tests); None: buildah's default
    run_root: Path | None = None
    pull: str = "missing"  # never: the base must already be in the storage (tests, air-gapped runners)


def _global(options: BuildahOptions) -> list[str]:
    args = ["buildah"]
    if options.storage_root is not None:
        args += ["--root", str(options.storage_root), "--storage-driver", "vfs"]
    if options.run_root is not None:
        args += ["--runroot", str(options.run_root)]
    return args


def install_commands(step: InstallStep) -> list[list[str]]:
    return _INSTALL[step.with_](list(step.packages))


def labels(image: FlavourImage, revision: str) -> dict[str, str]:
    return {"org.opencontainers.image.title": f"EAF notebook: {image.flavour}",
            "org.opencontainers.image.ref.name": image.reference,
            "org.opencontainers.image.base.name": image.build.base or "",
            "org.opencontainers.image.revision": revision,
            "gov.fnal.eaf.flavour": image.flavour}


def plan(image: FlavourImage, container: str, archive: Path, revision: str,
         options: BuildahOptions) -> list[list[str]]:
    """The buildah command lines that build `image` in a working container named `container`."""
    if image.build.scan_only or image.build.base is None:
        raise ValueError(f"flavour {image.flavour} is scanOnly: its upstream image is scanned, not built")
    buildah = _global(options)
    commands = [[*buildah, "from", f"--pull={options.pull}", "--name", container, image.build.base]]
    for step in image.build.install:
        for command in install_commands(step):
            commands.append([*buildah, "run", "--user", "0", container, "--", *command])
    config = [*buildah, "config", "--user", f"{image.build.user}:0"]
    for key, value in sorted(labels(image, revision).items()):
        config += ["--label", f"{key}={value}"]
    commands.append([*config, container])
    commands.append([*buildah, "commit", "--rm", "--format", "oci", container, image.reference])
    commands.append([*buildah, "push", image.reference, f"oci-archive:{archive}:{image.reference}"])
    return commands


def run(commands: Sequence[Sequence[str]]) -> None:
    for command in commands:
        print("+ " + " ".join(command), flush=True)
        subprocess.run(list(command), check=True)


def push_command(image: FlavourImage, options: BuildahOptions) -> list[str]:
    """To the registry the pinned reference names (after the scan passed)."""
    return [*_global(options), "push", image.reference, f"docker://{image.reference}"]

"""A throw-away copy of the project for the real-engine tiers: the program and its data, the repo's virtualenv.

The copy is where a tier may change what the repo must not (its own stack files, a stack declared as a local
sandbox in infra/data/state.yaml); the program and its dynamic providers import infra.* from the copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import yaml

from infra.paths import PROJECT_DIR

PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "infra", "ignition")


def copy_program(target: Path, extra: Iterable[str] = ()) -> None:
    """The program's files (and `extra` ones, e.g. a stack file) into `target`, with the repo's .venv linked."""
    for name in (*PROGRAM_FILES, *extra):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(PROJECT_DIR / ".venv")  # Pulumi.yaml's virtualenv, for the program and providers


def declare_sandbox(target: Path, stack: str, passphrase: str | None = None) -> None:
    """The copy's state policy lists `stack` as a local sandbox (in the repo the stacks use the team's backend)."""
    policy_file = target / "infra" / "data" / "state.yaml"
    policy = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    policy["stacks"][stack] = {"state": "local", "secrets": "sandbox"}
    if passphrase is not None:
        policy["sandboxPassphrase"] = passphrase
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")

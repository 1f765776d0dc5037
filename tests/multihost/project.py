"""A throw-away copy of the project holding the multi-host tier's stack files, driven with the real Pulumi CLI.

Why generated, not a Pulumi.<stack>.yaml in the repo: the hosts' URIs carry this run's ssh set-up (ports, the ssh
wrapper with this run's known_hosts), the migration rewrites the stack files it switches (`eaf:cluster.role`), and
`python -m infra migrate` finds the active/spare pair by scanning the project's stack files, where the repo's real
prod-a/prod-b would answer. So the stack files are tests/multihost/stacks/*.yaml plus `eaf:hosts` from the lab and
the sandbox secrets of Pulumi.local.yaml (its encrypted values and salt: the same passphrase opens them), written
into the copy as Pulumi.<stack>.yaml, where `pulumi -s <stack>` and every `python -m infra` tool read them.

The tier's stacks are named eaf-mh-*, not dev/prod-a/prod-b: those names are `state: shared` in infra/data/state.yaml
(the team's backend, their own passphrases), which a throw-away sandbox on one machine is not. Each stack written is
listed in the copy's state.yaml as what it is (`state: local, secrets: sandbox`); the repo's file is not changed.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.paths import PROJECT_DIR
from tests.local_stack.engine import LOCAL_PASSPHRASE
from tests.multihost.lab import Hypervisor
from tests.support.engine import engine_env, missing_engine
from tests.support.project_copy import copy_program

STACKS_DIR = Path(__file__).parent / "stacks"
REPO_STACKS = tuple(yaml.safe_load((PROJECT_DIR / "infra" / "data" / "state.yaml").read_text(encoding="utf-8"))
                    ["stacks"])
SANDBOX_SECRETS = ("eaf:pullSecret", "eaf:sshPublicKeys")
# Room each stand-in hypervisor offers a cluster (the placement's budget, checked by preflight against the host).
HOST_CPUS, HOST_MEMORY_GIB, POOL_GIB = 4, 2, 20


def missing_engine_or_probe() -> str | None:
    problem = missing_engine()
    if problem:
        return problem
    if not (PROJECT_DIR / ".work" / "probe" / "SHA256SUMS").exists():
        return ".work/probe is missing: run scripts/build-probe-image.sh"
    return None


def hosts_config(hosts: list[Hypervisor], pool: str) -> list[dict[str, Any]]:
    """`eaf:hosts` for the lab's hypervisors: one pool per cluster, so two clusters share the hosts cleanly."""
    return [{"name": h.name, "uri": h.uri, "cpus": HOST_CPUS, "memoryGiB": HOST_MEMORY_GIB,
             "pool": {"name": pool, "path": f"/var/lib/libvirt/{pool}", "capacityGiB": POOL_GIB}} for h in hosts]


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, step: str | None = None, check: bool = True, timeout: float = 900.0
            ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if step:
            self.timings[step] = self.timings.get(step, 0.0) + time.monotonic() - started
        if check and done.returncode != 0:
            # The engine's own diagnostics (what failed, and why) come before its long summary of outputs.
            errors = "\n".join(line for line in done.stdout.splitlines() if "error" in line.lower())
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}\n--- errors\n{errors[-6000:]}"
                                 f"\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}")
        return done

    def pulumi(self, stack: str, *args: str, step: str | None = None, check: bool = True
               ) -> subprocess.CompletedProcess[str]:
        return self.run("pulumi", *args, "--stack", stack, "--non-interactive", step=step, check=check)

    def infra(self, *args: str, step: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`python -m infra ...` run in the copy, so it reads the copy's stack files (as a user in the repo would)."""
        return self.run("python", "-m", "infra", *args, step=step, check=check)

    def preview_json(self, stack: str, step: str) -> dict:
        return json.loads(self.pulumi(stack, "preview", "--json", step=step).stdout)

    def outputs_file(self, stack: str) -> Path:
        """`pulumi stack output --json` saved to a file: what the site's network team is handed."""
        target = self.root / ".work" / f"{stack}-outputs.json"
        target.write_text(self.pulumi(stack, "stack", "output", "--json").stdout, encoding="utf-8")
        return target

    def write_stack(self, stack: str, template: str, extra: dict[str, Any] | None = None,
                    secrets: bool = True, stacks_dir: Path = STACKS_DIR) -> Path:
        document = yaml.safe_load((stacks_dir / f"{template}.yaml").read_text(encoding="utf-8"))
        document["config"].update(extra or {})
        if secrets:
            local = yaml.safe_load((PROJECT_DIR / "Pulumi.local.yaml").read_text(encoding="utf-8"))
            document["config"].update({key: local["config"][key] for key in SANDBOX_SECRETS})
            document["encryptionsalt"] = local["encryptionsalt"]
        self._declare(stack, baseline=document["config"].get("eaf:layer") == "baseline")
        path = self.root / f"Pulumi.{stack}.yaml"
        header = "".join(line + "\n" for line in (stacks_dir / f"{template}.yaml").read_text().splitlines()
                         if line.startswith("#"))
        path.write_text(header + yaml.safe_dump(document, sort_keys=False, width=120), encoding="utf-8")
        return path

    def _declare(self, stack: str, baseline: bool) -> None:
        policy_file = self.root / "infra" / "data" / "state.yaml"
        policy = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
        if stack in REPO_STACKS:
            raise ValueError(f"stack name {stack!r} is one of the repo's stacks; the tier's stacks are eaf-mh-*")
        policy["stacks"][stack] = ({"state": "baseline", "secrets": "passphrase"} if baseline
                                   else {"state": "local", "secrets": "sandbox"})
        policy_file.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")


def make_project(target: Path) -> Project:
    copy_program(target)
    (target / ".work").mkdir()
    (target / ".work" / "probe").symlink_to(PROJECT_DIR / ".work" / "probe")
    env = engine_env(target / ".work", LOCAL_PASSPHRASE)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    (target / ".work" / "state").mkdir()
    return Project(target, env)

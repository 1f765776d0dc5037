"""The Pulumi engine that scripts/bootstrap-engine.sh builds into .tools/bin, for the real-engine tiers: whether
it is there, and the environment scripts/env.sh would give, with state, home and passphrase private to one test."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from infra.paths import PROJECT_DIR

TOOLS_BIN = PROJECT_DIR / ".tools" / "bin"
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
ENGINE_TOOLS = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python")


def missing_engine() -> str | None:
    """Why the engine cannot run, or None. Real tiers fail with this message; they never skip."""
    missing = [name for name in ENGINE_TOOLS if not os.access(TOOLS_BIN / name, os.X_OK)]
    if missing:
        return f"{', '.join(missing)} missing from {TOOLS_BIN}: run scripts/bootstrap-engine.sh"
    return None


def engine_env(work: Path, passphrase: str, import_project: bool = False) -> dict[str, str]:
    """The whole process environment for running `pulumi` on a throw-away project under `work`."""
    env = dict(os.environ)
    env.pop("PULUMI_ACCESS_TOKEN", None)
    env.update({
        # The language host ignores Pulumi.yaml's virtualenv option: the venv must come first on PATH.
        "PATH": os.pathsep.join([str(TOOLS_BIN), str(VENV_BIN), env.get("PATH", "")]),
        "PULUMI_BACKEND_URL": (work / "state").as_uri(),
        "PULUMI_HOME": str(work / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # No internet here: a plugin download could only hang or fail.
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,  # throw-away stacks: stable for the test's lifetime only
        # As scripts/env.sh: qemu+ssh forks ssh in the gRPC-running provider process (see there).
        "GRPC_ENABLE_FORK_SUPPORT": "false",
    })
    if import_project:
        # The program and the dynamic-provider process import infra.* from the checkout.
        env["PYTHONPATH"] = str(PROJECT_DIR)
    return env


# The Kubernetes provider plugin: built by scripts/build-kubernetes-plugin.sh, and installed into a Pulumi home (the
# project's or a test's private one) by scripts/install-kubernetes-plugin.sh, under the version the
# pulumi-kubernetes SDK asks for.
KUBERNETES_PLUGIN = PROJECT_DIR / ".tools" / "plugins" / "kubernetes" / "pulumi-resource-kubernetes"
INSTALL_KUBERNETES_PLUGIN = PROJECT_DIR / "scripts" / "install-kubernetes-plugin.sh"


def missing_kubernetes_plugin() -> str | None:
    """Why the engine cannot run the Kubernetes provider, or None. Real tiers fail with this message."""
    missing = missing_engine()
    if missing:
        return missing
    if not os.access(KUBERNETES_PLUGIN, os.X_OK):
        return f"{KUBERNETES_PLUGIN} is missing: run scripts/build-kubernetes-plugin.sh"
    return None


def install_kubernetes_plugin(env: dict[str, str]) -> str | None:
    """Installs the built plugin into the Pulumi home of `env` (engine_env's); returns why it failed, or None."""
    completed = subprocess.run(["bash", str(INSTALL_KUBERNETES_PLUGIN), env["PULUMI_HOME"]], env=env,
                               capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        return f"{INSTALL_KUBERNETES_PLUGIN} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    return None


def go_tool_pin(key: str) -> str:
    """A pin of scripts/go/versions.env (KEY=VALUE lines), the versions of the Go-built tools."""
    for line in (PROJECT_DIR / "scripts" / "go" / "versions.env").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise AssertionError(f"{key} is not pinned in scripts/go/versions.env")

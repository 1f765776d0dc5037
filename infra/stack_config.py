"""The stack's own `eaf:*` config as the engine hands it to the program (stack file + `pulumi config set`)."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import config as runtime_config

from infra.spec.layering import NAMESPACE, parse_engine_value


def engine_config() -> dict[str, Any]:
    """Every `eaf:` key, namespace stripped, structured values parsed; secrets included (they are only checked for
    presence here and otherwise read through `infra.secrets`)."""
    merged: dict[str, Any] = dict(runtime_config.get_config_env() or {})
    merged.update(runtime_config.CONFIG.get())
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix):]: parse_engine_value(value) for key, value in merged.items() if key.startswith(prefix)}

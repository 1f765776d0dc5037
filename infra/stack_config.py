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


def engine_secret_keys() -> set[str] | None:
    """The `eaf:` keys the engine holds as secrets (without the namespace); None when the engine says nothing about
    secrets at all (then a plain-text secret can only be seen in the stack file itself)."""
    keys = set(runtime_config.get_config_secret_keys_env()) | {
        key for key in {**(runtime_config.get_config_env() or {}), **runtime_config.CONFIG.get()}
        if runtime_config.is_config_secret(key)}
    prefix = f"{NAMESPACE}:"
    found = {key[len(prefix):] for key in keys if key.startswith(prefix)}
    return found or None

"""Load a stack for tools that run outside the Pulumi engine (render, preflight, reports): from the stack file."""

from __future__ import annotations

from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError
from infra.spec.layering import SECURE_PLACEHOLDER, StackFileError, read_stack_file
from infra.spec.load import LoadedStack, load_spec


def load_offline(stack: str, check_secrets: bool = False) -> LoadedStack:
    """Secrets are at most known to be set: their values stay encrypted in the stack file (or are not in it at all,
    as for dev and prod, whose secrets the engine gets from the team's secret store)."""
    try:
        own = read_stack_file(PROJECT_DIR, stack, keep_secure=True)
    except StackFileError as error:
        raise ConfigError(stack, [error.problem]) from None
    encrypted = {key for key, value in own.items() if value == SECURE_PLACEHOLDER}
    return load_spec(stack, own, PROJECT_DIR, check_secrets=check_secrets, secret_keys=encrypted)

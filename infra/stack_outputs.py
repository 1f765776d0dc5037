"""The stack's own outputs of its last update, read at evaluation so that every preview plans the same.

The engine's builtin `pulumi:pulumi:readStackOutputs` (the call behind StackReference) answers synchronously."""

from __future__ import annotations

from typing import Any

import pulumi

READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def own_stack_name() -> str:
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


class OutputsUnknownError(Exception):
    """The engine could not say (its message is the cause)."""


def previous_outputs() -> dict[str, Any]:
    """{} before the first update; OutputsUnknownError when the engine cannot tell."""
    try:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": own_stack_name()})
    except Exception as error:  # noqa: BLE001 - the engine's own wording goes to the caller
        raise OutputsUnknownError(str(error)) from error
    outputs = (result.value or {}).get("outputs")
    return outputs if isinstance(outputs, dict) else {}

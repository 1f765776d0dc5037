"""One OKD install step as a Pulumi resource: infra/okd/scripts/okd_step.py STEP, run by infra.okd.step_provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from infra.dynamic_resource import StatelessProviderResource
from infra.okd.step_provider import STEP_SCRIPT, StepProvider

__all__ = ["STEP_SCRIPT", "OkdStep", "Step", "step_command"]


@dataclass(frozen=True)
class Step:
    """What a step runs: `create` the first time and when a trigger changes (a replace), `update` when any other
    input changes."""

    create: str
    update: str
    environment: Mapping[str, pulumi.Input[str]]
    triggers: Sequence[pulumi.Input[object]]
    stdin: pulumi.Input[str] | None = None
    secret_stdout: bool = False  # the step prints secrets (Ignition with the pull secret, kubeconfig)
    timeout_minutes: int | None = None  # the waits: the installer gives up after its own timeouts first
    redact: Sequence[pulumi.Input[str]] = field(default=())  # secret values never shown in the step's progress


class OkdStep(StatelessProviderResource, module="okd", name="Step"):
    """Registers as `pulumi-python:dynamic/okd:Step`, so a preview names what it is."""

    stdout: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, object], opts: pulumi.ResourceOptions | None = None):
        super().__init__(StepProvider(), name, {**props, "stdout": None}, opts)


def step_command(name: str, step: Step, parent: pulumi.Resource,
                 depends_on: Sequence[pulumi.Resource] = ()) -> OkdStep:
    props: dict[str, object] = {
        "create": step.create,
        "update": step.update,
        "environment": dict(sorted(step.environment.items())),
        "triggers": list(step.triggers),
        "stdin": step.stdin,
        "timeout_seconds": step.timeout_minutes * 60 if step.timeout_minutes else None,
        "redact": pulumi.Output.secret(list(step.redact)) if step.redact else [],
    }
    return OkdStep(name, props, pulumi.ResourceOptions(
        parent=parent, depends_on=list(depends_on),
        # stdin (the install-config) and the redacted values hold secrets; the state keeps them encrypted.
        additional_secret_outputs=["stdin", "redact", *(["stdout"] if step.secret_stdout else [])]))

"""One pulumi-command `local.Command` that runs a step of infra/okd/scripts/okd_step.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import local

# Relative to the project dir (the engine runs providers there), so the state is the same on every operator's
# machine: an absolute path here would count as a changed input and re-run the installer after a checkout move.
STEP_SCRIPT = "infra/okd/scripts/okd_step.py"
INTERPRETER = ("python3", STEP_SCRIPT)


@dataclass(frozen=True)
class Step:
    """What a Command runs: `create` the first time and when a trigger changes (the SDK registers every Command
    with replaceOnChanges triggers[*]: a replace), `update` when any other input changes."""

    create: str
    update: str
    environment: Mapping[str, pulumi.Input[str]]
    triggers: Sequence[pulumi.Input[object]]
    stdin: pulumi.Input[str] | None = None
    secret_stdout: bool = False  # the step prints secrets (Ignition with the pull secret, kubeconfig)
    timeout: str | None = None  # e.g. "90m" for the waits


def step_command(name: str, step: Step, parent: pulumi.Resource,
                 depends_on: Sequence[pulumi.Resource] = ()) -> local.Command:
    return local.Command(
        name,
        interpreter=list(INTERPRETER),
        create=step.create,
        update=step.update,
        environment=dict(sorted(step.environment.items())),
        triggers=list(step.triggers),
        stdin=step.stdin,
        # The previous stdout in the environment would put secrets into a process environment for nothing.
        add_previous_output_in_env=False,
        logging=local.Logging.STDERR if step.secret_stdout else local.Logging.STDOUT_AND_STDERR,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            additional_secret_outputs=["stdout"] if step.secret_stdout else None,
            custom_timeouts=pulumi.CustomTimeouts(create=step.timeout, update=step.timeout) if step.timeout else None,
        ),
    )

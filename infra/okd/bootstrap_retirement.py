"""The bootstrap VM goes once bootstrap-complete has succeeded, with no edit of the stack file.

Why not within the very same `pulumi up`: the engine deletes what a program run does not register, and it learns
that from one evaluation of the program. The bootstrap VM has to be registered in the evaluation whose
bootstrap-complete step waits for it (that step needs the VM running), so that evaluation cannot also leave it out:
the deletion takes a second evaluation. That evaluation decides from the stack's own state, never from a local
file, so every preview (the CI's read-only one included) plans the same:

1. bring-up records `okdBootstrap` as a stack output: the digest of this install's triggers, whether
   bootstrap-complete has succeeded for it, whether this run planned the VM, and the removal setting;
2. at evaluation the program reads its own stack's last outputs (the engine's builtin
   `pulumi:pulumi:readStackOutputs`, the call behind StackReference, answered synchronously) and, with
   `eaf:okd.install.removeBootstrap: auto`, plans without the bootstrap node when they record bootstrap-complete for
   this same install. A new install (another digest) gets its bootstrap node back;
3. `python -m infra up` runs that second evaluation itself when its `pulumi up` ended with the VM still planned and
   bootstrap-complete recorded: one command installs and removes the bootstrap VM. A bare `pulumi up` removes it
   on the next `up`.

Nothing else changes when the node goes: the load balancer keeps the bootstrap's (health-checked) backend and the
placement of the other nodes does not depend on it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi

from infra.contracts import InstallInput
from infra.spec.load import LoadedStack
from infra.stack_outputs import OutputsUnknownError, previous_outputs

OUTPUT = "okdBootstrap"  # the stack output the record lives in


def previous_record() -> dict[str, Any]:
    """The `okdBootstrap` output of the stack's last update ({} before the first, or when the engine cannot tell)."""
    try:
        record = previous_outputs().get(OUTPUT)
    except OutputsUnknownError as error:  # "not known": keep the bootstrap node
        pulumi.log.warn(f"cannot read this stack's last outputs ({error}): the bootstrap node stays planned")
        return {}
    return record if isinstance(record, dict) else {}


def install_digest(install: InstallInput) -> str:
    from infra.okd.installer import install_digest as digest
    from infra.okd.installer import installer_args

    return digest(installer_args(install))


def completed_for(record: dict[str, Any], digest: str) -> bool:
    return record.get("complete") is True and record.get("install") == digest


def without_bootstrap(loaded: LoadedStack) -> LoadedStack:
    """The same stack with eaf:nodes.bootstrap.enabled false: the plan rebuilt without the node."""
    from infra.plan.build import build_plan

    nodes = loaded.spec.nodes
    spec = loaded.spec.model_copy(update={"nodes": nodes.model_copy(update={
        "bootstrap": nodes.bootstrap.model_copy(update={"enabled": False})})})
    plan, problems = build_plan(spec, loaded.stack)
    assert plan is not None and not problems, problems  # fewer nodes than a valid plan: nothing new can fail
    return dataclasses.replace(loaded, spec=spec, plan=plan)


def retire_completed_bootstrap(loaded: LoadedStack, install: InstallInput) -> LoadedStack:
    """`loaded`, or `loaded` without its bootstrap node when the state records bootstrap-complete for this install
    and the stack lets the program remove it."""
    settings = loaded.spec.okd.install
    if not (settings.enabled and settings.remove_bootstrap == "auto" and loaded.spec.nodes.bootstrap.enabled):
        return loaded
    if not completed_for(previous_record(), install_digest(install)):
        return loaded
    pulumi.log.info("bootstrap-complete succeeded for this install (recorded in the stack's state): the bootstrap "
                    "VM is removed (eaf:okd.install.removeBootstrap: auto)")
    return without_bootstrap(loaded)


def bootstrap_record(install: InstallInput, bootstrap_stdout: pulumi.Output[str],
                     bootstrap_planned: bool) -> pulumi.Output[dict[str, Any]]:
    """What the stack output records for the next evaluation."""
    digest = install_digest(install)

    def record(stdout: str) -> dict[str, Any]:
        try:
            complete = json.loads(stdout or "{}").get("bootstrapComplete") is True
        except ValueError:
            complete = False
        return {"install": digest, "complete": complete, "vm": "present" if bootstrap_planned else "removed",
                "removeBootstrap": install.okd.install.remove_bootstrap}

    return pulumi.Output.unsecret(bootstrap_stdout.apply(record))


def second_pass_needed(record: dict[str, Any] | None) -> bool:
    """After an `up`: did it complete the bootstrap with the VM still planned, and may the program remove it?"""
    return bool(record) and record.get("complete") is True and record.get("vm") == "present" and \
        record.get("removeBootstrap") == "auto"

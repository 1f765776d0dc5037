"""Helpers of the policy tests: a harness run as policy records, and the stack it came from."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from infra.paths import PROJECT_DIR
from policy.records import ResourceRecord, StackInfo, from_registered
from policy.stack import stack_info
from tests.harness import StackRun


def records(run: StackRun) -> list[ResourceRecord]:
    return [from_registered(registered) for registered in run.resources]


def info(run: StackRun) -> StackInfo:
    return stack_info(run.stack, PROJECT_DIR, run.outputs, frozenset(run.secret_outputs))


def edited(resources: Sequence[ResourceRecord], resource_type: str, name: str,
           edit: Callable[[dict[str, Any]], None]) -> list[ResourceRecord]:
    """The records with one resource's inputs changed by `edit` (on a deep copy: cached runs stay intact)."""
    found = [r for r in resources if r.type == resource_type and r.name == name]
    assert len(found) == 1, f"expected one {resource_type} named {name!r}, found {[r.urn for r in found]}"
    inputs = copy.deepcopy(dict(found[0].inputs))
    edit(inputs)
    changed = dataclasses.replace(found[0], inputs=inputs)
    return [changed if r is found[0] else r for r in resources]

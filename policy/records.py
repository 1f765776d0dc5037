"""What the policies look at: plain records of registered resources and of the stack, and what they report.

The policies are plain functions over these records, so the same code runs in three places: the unit tests (over
`tests.harness.run_stack`, converted by `from_registered`), the Pulumi policy pack (`policy/__main__.py`, converted
from pulumi_policy's PolicyResource by `from_policy_resource`), and on saved preview JSON (policy/preview.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceRecord:
    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    parent: str = ""  # the parent's URN ("" at the top)
    provider: str = ""  # provider reference: "<provider URN>::<id>" (the engine's form), or the provider URN
    protect: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # ignore_changes, delete_before_replace, ...


@dataclass(frozen=True)
class StackInfo:
    """The stack being checked: its name, its cluster role (from the stack's config), its outputs."""

    name: str
    role: str | None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    secret_outputs: frozenset[str] = frozenset()

    @property
    def is_prod(self) -> bool:
        return self.role in ("active", "spare")


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str  # the resource in violation ("" for the stack as a whole)
    message: str  # names the resource, says what is wrong and what to do

    def __str__(self) -> str:
        return f"[{self.policy}] {self.message}"


def urn_name(urn: str) -> str:
    """The name part of a URN (urn:pulumi:<stack>::<project>::<type>::<name>); provider references carry a
    trailing `::<id>` that is not part of the name."""
    parts = urn.split("::")
    return parts[3] if len(parts) >= 4 else urn


def urn_stack(urn: str) -> str:
    """The stack of a URN: `urn:pulumi:<stack>::...`."""
    head = urn.split("::", 1)[0]
    return head.split(":", 2)[2] if head.count(":") >= 2 else ""


def from_registered(registered: Any) -> ResourceRecord:
    """A `tests.harness.Registered` (duck-typed: the policies do not import the tests)."""
    return ResourceRecord(
        type=registered.type, name=registered.name, urn=registered.urn, inputs=registered.inputs,
        parent=registered.parent, provider=registered.provider, protect=registered.protect,
        options={"ignore_changes": tuple(registered.ignore_changes),
                 "delete_before_replace": registered.delete_before_replace,
                 "replace_on_changes": tuple(registered.replace_on_changes)},
    )


def from_policy_resource(resource: Any) -> ResourceRecord:
    """A pulumi_policy PolicyResource (stack validation): its props are the resource's outputs, which for the
    resources checked here (Kubernetes objects, domains) hold the inputs as well."""
    parent = resource.parent.urn if resource.parent is not None else ""
    provider = resource.provider.urn if resource.provider is not None else ""
    return ResourceRecord(
        type=resource.resource_type, name=resource.name, urn=resource.urn, inputs=dict(resource.props),
        parent=parent, provider=provider, protect=bool(resource.opts.protect),
        options={"ignore_changes": tuple(resource.opts.ignore_changes or ()),
                 "delete_before_replace": resource.opts.delete_before_replace},
    )

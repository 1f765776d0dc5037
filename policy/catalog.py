"""Every policy over a stack's resources, with its description: one list, used by the policy pack and the tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policy import images, outputs, pci, placement, profiles
from policy.records import ResourceRecord, StackInfo, Violation

Check = Callable[[Sequence[ResourceRecord], StackInfo], list[Violation]]


@dataclass(frozen=True)
class StackPolicy:
    name: str
    description: str
    check: Check
    in_pack: bool = True  # False: needs what the policy pack does not get (see policy/__main__.py)


def _summary(module) -> str:
    return " ".join(module.__doc__.split("\n\n")[0].split())


STACK_POLICIES = (
    StackPolicy(placement.NAME, _summary(placement), placement.check),
    StackPolicy(pci.NAME, _summary(pci), pci.check),
    StackPolicy(images.NAME, _summary(images), images.check),
    StackPolicy(profiles.NAME, _summary(profiles), profiles.check),
    # The analyzer hands policies plain values (secrets unwrapped), so secret-ness of outputs is not visible there.
    StackPolicy(outputs.NAME, _summary(outputs), outputs.check, in_pack=False),
)


def check_all(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    return [violation for policy in STACK_POLICIES for violation in policy.check(resources, stack)]

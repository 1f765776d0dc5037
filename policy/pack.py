"""The policies as pulumi_policy StackValidationPolicy objects (policy/__main__.py serves them as a pack).

Each wraps a plain check from policy/catalog.py: the resources the analyzer gives become ResourceRecords, the
stack's name comes from their URNs and its role from its stack file.
"""

from __future__ import annotations

from pathlib import Path

from pulumi_policy import StackValidationArgs, StackValidationPolicy

from policy.catalog import STACK_POLICIES, StackPolicy
from policy.records import from_policy_resource, urn_stack
from policy.stack import stack_info

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _validation(policy: StackPolicy, project_dir: Path):
    def validate(args: StackValidationArgs, report_violation) -> None:
        records = [from_policy_resource(resource) for resource in args.resources]
        stack = next((urn_stack(record.urn) for record in records), "")
        for violation in policy.check(records, stack_info(stack, project_dir)):
            report_violation(violation.message, violation.urn or None)

    return validate


def pack_policies(project_dir: Path = PROJECT_DIR) -> list[StackValidationPolicy]:
    return [
        StackValidationPolicy(name=policy.name, description=policy.description,
                              validate=_validation(policy, project_dir))
        for policy in STACK_POLICIES if policy.in_pack
    ]

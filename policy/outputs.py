"""Policy: stack outputs that carry credentials are secret. An output named like a credential (kubeconfig,
password, secret, token, private key, credentials), or a plain output holding such a key at any depth, must be a
Pulumi secret; otherwise `pulumi stack output` and the state file show it in the clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.records import ResourceRecord, StackInfo, Violation

NAME = "secret-outputs"
CREDENTIAL_NAME = re.compile(r"(?i)(kubeconfig|passw(or)?d|secret|token|private[_-]?key|credential)")


def _credential_paths(value: Any, path: str) -> Iterator[str]:
    """Paths inside a plain output whose key names a credential and whose value is set."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            here = f"{path}.{key}"
            if CREDENTIAL_NAME.search(str(key)) and inner not in (None, "", [], {}):
                yield here
            else:
                yield from _credential_paths(inner, here)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _credential_paths(inner, f"{path}[{index}]")


def check(resources: Sequence[ResourceRecord], stack: StackInfo) -> list[Violation]:
    violations = []
    for name, value in sorted(stack.outputs.items()):
        if name in stack.secret_outputs:
            continue
        paths = [name] if CREDENTIAL_NAME.search(name) else list(_credential_paths(value, name))
        for path in paths:
            violations.append(Violation(NAME, "", (
                f"stack {stack.name}: output {path} looks like a credential but is exported in the clear; "
                "export it with pulumi.Output.secret(...)")))
    return violations

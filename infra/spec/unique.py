"""One of each: no entry of a named list given twice, anywhere in the spec, checked before anything is planned.

Every list of the spec is walked (hosts, a host's GPUs, data disks, NFS areas, profiles, mirrors, DNS servers, ...):
entries are told apart by their identity fields (IDENTITY); a list of plain values must not hold one value twice.
Hosts are compared by the hypervisor their URI reaches too, so `qemu+ssh://root@hv01/system` and
`qemu+ssh://admin@HV01:22/system` are the same host. A repeated entry would make two resources of one name (one
Pulumi URN) or two claims on one device, so it is refused before any resource exists.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from infra.spec.errors import Problem
from infra.spec.libvirt_uri import endpoint

# Identity fields (python names) of list entries, and what a repeat means / how to fix it.
IDENTITY = {
    "name": ("name", "give each entry its own name, or remove the repeated one"),
    "slug": ("slug", "give each profile its own slug"),
    "address": ("PCI address", "a PCI address is one device: list it once"),
    "uri": ("hypervisor", "each entry of eaf:hosts is one hypervisor: remove the repeated one, or correct its URI"),
    "source": ("source repository", "list each source once, with all its mirrors"),
    "mount_path": ("mount path", "mount each area at its own path"),
}


def _alias(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _identity(field: str, value: Any) -> Any:
    if field == "uri":
        return endpoint(value) or value
    return value


def _list_problems(path: str, items: tuple[Any, ...]) -> list[Problem]:
    problems: list[Problem] = []
    models = [item for item in items if isinstance(item, BaseModel)]
    if models and len(models) == len(items):
        model = type(models[0])
        for field, (what, fix) in IDENTITY.items():
            if field not in model.model_fields:
                continue
            first: dict[Any, int] = {}
            for index, item in enumerate(items):
                value = getattr(item, field)
                key = _identity(field, value)
                if key in first:
                    problems.append(Problem(
                        f"{path}[{index}].{_alias(model, field)}", value,
                        f"the same {what} as {path}[{first[key]}]", fix))
                else:
                    first[key] = index
        return problems
    first_at: dict[Any, int] = {}
    shown: dict[Any, Any] = {}
    for index, item in enumerate(items):
        try:
            key = (type(item).__name__, item)
            hash(key)
        except TypeError:  # an unhashable entry (not in a validated spec): compare its text
            key = ("text", repr(item))
        if key in first_at:
            if key not in shown:
                shown[key] = item if isinstance(item, str | int | float | bool) else str(item)
            problems.append(Problem(f"{path}[{index}]", shown[key], f"given twice: {path}[{first_at[key]}] is the same",
                                    "list it once"))
        else:
            first_at[key] = index
    return problems


def repeat_problems(model: BaseModel, path: str = "eaf:") -> list[Problem]:
    """Every list entry of the spec given twice (by identity field, or by value for plain lists)."""
    problems: list[Problem] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = f"{path}{'' if path.endswith(':') else '.'}{_alias(type(model), name)}"
        if isinstance(value, BaseModel):
            problems += repeat_problems(value, here)
        elif isinstance(value, tuple):
            problems += _list_problems(here, value)
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    problems += repeat_problems(item, f"{here}[{index}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    problems += repeat_problems(item, f"{here}.{key}")
    return problems


def namespace_problems(apps: Any) -> list[Problem]:
    """Each enabled app creates and owns its namespaces: two settings naming one namespace would make two apps (or
    one app twice) create the same objects."""
    owner: dict[str, tuple[str, bool]] = {}  # namespace -> (path, set by the stack)
    problems = []
    for definition in apps.enabled():
        settings = getattr(apps, definition.key)
        for name, field in type(settings).model_fields.items():
            if name != "namespace" and not name.endswith("_namespace"):
                continue
            value = getattr(settings, name)
            path = f"eaf:apps.{definition.config_key}.{field.alias or name}"
            chosen = value != field.default
            if value not in owner:
                owner[value] = (path, chosen)
                continue
            other, other_chosen = owner[value]
            # Name the setting the stack changed (a default was not typed by anyone).
            blame, same = (other, path) if other_chosen and not chosen else (path, other)
            problems.append(Problem(blame, value, f"{same} is the same namespace: both would create and own it",
                                    "give each app its own namespace"))
    return problems

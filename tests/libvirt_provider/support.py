"""Whole-program runs with the pulumi-libvirt backend, and lookups over what they registered."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from infra.libvirt.model import HostLayout, host_layouts
from infra.paths import PROJECT_DIR
from infra.spec.layering import deep_merge, read_stack_file
from infra.spec.load import LoadedStack, load_spec
from tests.harness import Registered, StackRun, run_stack

PROVIDER = {"libvirt": {"backend": "provider"}}
LIBVIRT_TYPES = (
    "libvirt:index/pool:Pool",
    "libvirt:index/volume:Volume",
    "libvirt:index/network:Network",
    "libvirt:index/ignition:Ignition",
    "libvirt:index/domain:Domain",
)
PROVIDER_TYPE = "pulumi:providers:libvirt"
DOMAIN = "libvirt:index/domain:Domain"
VOLUME = "libvirt:index/volume:Volume"
IGNITION = "libvirt:index/ignition:Ignition"
NETWORK = "libvirt:index/network:Network"
POOL = "libvirt:index/pool:Pool"
NODE = "eaf:libvirt:ClusterNode"
HOST = "eaf:libvirt:HypervisorHost"


def with_provider(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return deep_merge(copy.deepcopy(PROVIDER), copy.deepcopy(dict(overrides or {})))


def provider_run(stack: str, overrides: Mapping[str, Any] | None = None) -> StackRun:
    return run_stack(stack, overrides=with_provider(overrides))


@cache
def cached_provider_run(stack: str) -> StackRun:
    return provider_run(stack)


def loaded(stack: str, overrides: Mapping[str, Any] | None = None) -> LoadedStack:
    own = read_stack_file(PROJECT_DIR, stack)
    own = deep_merge(own, with_provider(overrides))
    return load_spec(stack, own, PROJECT_DIR, check_secrets=False)


def layouts(stack: str, overrides: Mapping[str, Any] | None = None) -> tuple[HostLayout, ...]:
    spec = loaded(stack, overrides)
    return host_layouts(spec.plan, spec.os_image, spec.spec.libvirt.domain_type, spec.spec.libvirt.autostart,
                        PROJECT_DIR)


def named(run: StackRun, kind: str, host: str, name: str) -> Registered:
    """A libvirt object by kind (pool, image, network, volume, ignition, domain), host and libvirt name."""
    return run.named(f"{host}-{kind}-{name}")


def provider_urn(reference: str) -> str:
    """A provider reference is "<urn>::<id>"."""
    return reference.rsplit("::", 1)[0]


def node_component(run: StackRun, resource: Registered) -> Registered | None:
    """The ClusterNode a resource belongs to (None for per-host objects)."""
    parent = run.by_urn(resource.parent) if resource.parent else None
    return parent if parent is not None and parent.type == NODE else None


def host_component(run: StackRun, resource: Registered) -> Registered:
    """The HypervisorHost a resource belongs to: its parent, or its ClusterNode's host."""
    parent = run.by_urn(resource.parent)
    if parent.type == HOST:
        return parent
    host_name = parent.inputs["host"]
    return next(r for r in run.of_type(HOST) if r.name == host_name)

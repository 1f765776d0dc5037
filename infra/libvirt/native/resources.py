"""The Pulumi resources of the native backend: one dynamic resource per libvirt object.

They register as `pulumi-python:dynamic:Resource` (Pulumi's type for every Python dynamic resource); the provider
object inside says which kind of libvirt object it is.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import ResourceProvider

from infra.dynamic_resource import StatelessProviderResource

# Outputs every libvirt object reports (see providers.py); declared so they exist as attributes.
_OUTPUTS = ("live", "drift", "path", "pending_restart", "running", "size", "content_sha256")


class LibvirtObject(StatelessProviderResource):
    """One libvirt object (pool, network, volume, domain) created and tracked by its dynamic provider."""

    live: pulumi.Output[dict]
    drift: pulumi.Output[list]
    path: pulumi.Output[str]

    def __init__(self, provider: ResourceProvider, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None):
        outputs = {key: None for key in _OUTPUTS if key not in props}
        super().__init__(provider, name, {**props, **outputs}, opts)

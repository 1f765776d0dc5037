"""The Pulumi resources of the native backend: one dynamic resource per libvirt object.

Each kind registers under its own type, `pulumi-python:dynamic/libvirt:<Kind>` (Pool, BaseImage, Network,
Reservation, Volume, Ignition, Domain), so a preview, the MR summary and `pulumi stack --show-urns` say what each
object is. Stacks made before the kinds had types knew them all as Pulumi's generic `pulumi-python:dynamic:Resource`;
an alias to that type carries them over without a replacement.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import ResourceProvider

from infra.dynamic_resource import StatelessProviderResource, generic_type_alias

# Outputs every libvirt object reports (see providers.py); declared so they exist as attributes.
_OUTPUTS = ("live", "drift", "path", "pending_restart", "running", "size", "content_sha256")


class LibvirtObject(StatelessProviderResource):
    """One libvirt object created and tracked by its dynamic provider; use the kind's subclass below."""

    live: pulumi.Output[dict]
    drift: pulumi.Output[list]
    path: pulumi.Output[str]

    def __init__(self, provider: ResourceProvider, name: str, props: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None):
        if type(self) is LibvirtObject:
            raise TypeError("register a libvirt object through its kind (LibvirtDomain, LibvirtVolume, ...)")
        outputs = {key: None for key in _OUTPUTS if key not in props}
        super().__init__(provider, name, {**props, **outputs}, generic_type_alias(opts))


class LibvirtPool(LibvirtObject, module="libvirt", name="Pool"):
    """A storage pool (a directory on the host)."""


class LibvirtBaseImage(LibvirtObject, module="libvirt", name="BaseImage"):
    """The OS image volume the nodes' disks are copy-on-write overlays of."""


class LibvirtNetwork(LibvirtObject, module="libvirt", name="Network"):
    """A libvirt network (NAT with libvirt's DHCP/DNS, or a bridge to the site's)."""


class LibvirtReservation(LibvirtObject, module="libvirt", name="Reservation"):
    """A node's DHCP host entry and DNS records in a NAT network."""


class LibvirtVolume(LibvirtObject, module="libvirt", name="Volume"):
    """A node's disk: the root overlay or a data disk."""


class LibvirtIgnition(LibvirtObject, module="libvirt", name="Ignition"):
    """A node's Ignition config, stored as a volume in the pool."""


class LibvirtDomain(LibvirtObject, module="libvirt", name="Domain"):
    """A node's virtual machine."""


def registered_type(kind: type[LibvirtObject]) -> str:
    """The type token a kind registers under (what previews, state and the policy pack see)."""
    return f"pulumi-python:{kind._resource_type_name}"

"""Shared helpers for the native backend's tests: the layouts of a stack, and the XML every object gets."""

from __future__ import annotations

import base64
import shutil
from functools import cache

import dill

from infra.libvirt.model import HostLayout, host_layouts
from infra.libvirt.native import render
from infra.paths import PROJECT_DIR
from infra.spec.layering import read_stack_file
from infra.spec.load import LoadedStack, load_spec

STACKS = ("dev", "prod-a", "prod-b", "local")
LIBVIRT_TYPE_PREFIX = "pulumi-python:dynamic/libvirt:"
VIRT_XML_VALIDATE_HINT = (
    "virt-xml-validate is missing: apt-get install -y libvirt-clients libxml2-utils (or run .ci/run)"
)


@cache
def loaded(stack: str) -> LoadedStack:
    return load_spec(stack, read_stack_file(PROJECT_DIR, stack), PROJECT_DIR, check_secrets=False)


@cache
def layouts(stack: str) -> tuple[HostLayout, ...]:
    spec = loaded(stack).spec
    return host_layouts(loaded(stack).plan, loaded(stack).os_image, spec.libvirt.domain_type, spec.libvirt.autostart,
                        PROJECT_DIR)


def documents(stack: str) -> dict[str, tuple[str, str]]:
    """{document name: (libvirt schema, XML)} for every object of the stack, as the native backend renders it.
    Node reservations are validated inside their network (their XML is an element of it)."""
    docs: dict[str, tuple[str, str]] = {}
    for layout in layouts(stack):
        host = layout.host
        docs[f"{host}-pool"] = ("storagepool", render.pool_xml(layout.pool))
        docs[f"{host}-network"] = ("network", render.network_xml(layout.network))
        if layout.reservations:
            docs[f"{host}-network-with-reservations"] = ("network", network_with_reservations(layout))
        docs[f"{host}-base-image"] = ("storagevol", render.base_image_xml(layout.base_image, 4 * 1024**3))
        for volume in layout.volumes:
            docs[f"{host}-{volume.name}"] = ("storagevol", render.volume_xml(volume, layout.pool))
        for ignition in layout.ignitions:
            docs[f"{host}-{ignition.name}"] = ("storagevol", render.ignition_xml(ignition.name, 300 * 1024))
        for domain in layout.domains:
            docs[f"{host}-{domain.name}"] = ("domain", render.domain_xml(domain, layout.pool))
    return docs


def network_with_reservations(layout: HostLayout) -> str:
    """The network as libvirt holds it once every node's reservation was added (what virNetworkUpdate makes)."""
    xml = render.network_xml(layout.network)
    dhcp = "".join(render.reservation_dhcp_xml(r) for r in layout.reservations)
    shared = {h.ip for h in layout.network.dns_hosts}
    dns = "".join(render.reservation_dns_xml(r) for r in layout.reservations if r.ip not in shared)
    return xml.replace("    </dhcp>", dhcp + "    </dhcp>", 1).replace("  </dns>", dns + "  </dns>", 1)


def virt_xml_validate() -> str:
    found = shutil.which("virt-xml-validate")
    assert found, VIRT_XML_VALIDATE_HINT
    return found


def provider_of(resource):
    """The dynamic provider object a registered resource carries (Pulumi pickles it into `__provider`)."""
    return dill.loads(base64.b64decode(resource.inputs["__provider"]))


def libvirt_objects(run):
    """The native backend's resources (other layers may register dynamic resources of their own)."""
    return [r for r in run.resources if r.type.startswith(LIBVIRT_TYPE_PREFIX)]

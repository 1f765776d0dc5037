"""ProviderBackend: the libvirt objects of the model, created with pulumi-libvirt 0.5.4.

One explicit `pulumi_libvirt.Provider` per hypervisor host (its `uri` from the layout), and every resource of that
host uses it, so nothing ever lands on the wrong hypervisor through a default provider.

Under mocks only here: the libvirt provider plugin (and terraform-provider-libvirt) cannot be installed on the build
machines, so these resources have never been created for real by this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_libvirt as libvirt

from infra.libvirt.images import IMAGE_CACHE, is_url
from infra.libvirt.model import (
    BaseImageDef,
    DomainDef,
    IgnitionDef,
    NetworkDef,
    PoolDef,
    ReservationDef,
    VolumeDef,
)
from infra.libvirt.provider.image_check import VerifiedImage
from infra.libvirt.provider.xslt import gpu_passthrough_xslt, network_xslt
from infra.spec.errors import ConfigError, Problem

# UEFI firmware on the hypervisor: Debian's `ovmf` package (bookworm) installs the code image here. The provider's
# `firmware` is a loader path (pflash); libvirt picks the matching NVRAM template from QEMU's firmware descriptors.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
# Where Ignition reads its config from the fw_cfg device (CoreOS; the provider passes it as `-fw_cfg` on x86_64).
IGNITION_FWCFG_NAME = "opt/com.coreos/config"

# Prod VMs: attributes the provider marks ForceNew although a change to them is harmless once the VM has booted.
#  - coreosIgnition: the Ignition resource's id is "<volume key>;<random uuid>" (terraform-provider-libvirt 0.8.1,
#    coreos_ignition_def.go), so ANY Ignition content change (new certs, a changed pointer config) gives a new id
#    and would replace the VM. Ignition runs on first boot only; afterwards OKD's machine-config operator owns the
#    node's config. The file keeps its path (same volume name), so the ignored old id still points at it.
# Deliberately NOT ignored: `xml` (the GPU XSLT: a changed GPU assignment is a real change), vcpu/memory/disks.
# No drift to ignore on `nvram`/`cpu` (Optional+Computed in 0.8.1 since its PR #1064) nor on network interfaces,
# autostart and running (updated in place, not ForceNew).
PROD_DOMAIN_IGNORE_CHANGES = ("coreosIgnition",)


@dataclass
class _HostObjects:
    """What the backend made on one host, so later calls (volumes, domains) can refer to it."""

    provider: libvirt.Provider
    pool: libvirt.Pool | None = None
    base_image: libvirt.Volume | None = None
    network: libvirt.Network | None = None


class ProviderBackend:
    name = "provider"

    def __init__(self) -> None:
        self._hosts: dict[str, _HostObjects] = {}
        self._volumes: dict[tuple[str, str], tuple[VolumeDef, libvirt.Volume]] = {}
        self._ignitions: dict[tuple[str, str], libvirt.Ignition] = {}
        self._reservations: dict[tuple[str, str], ReservationDef] = {}
        self._verified: dict[str, VerifiedImage] = {}

    # -- per host -------------------------------------------------------------------------------------------------

    def _host(self, host: str, uri: str, parent: pulumi.Resource) -> _HostObjects:
        """The host's provider, made on first use as a child of the HypervisorHost component."""
        if host not in self._hosts:
            provider = libvirt.Provider(host, uri=uri, opts=pulumi.ResourceOptions(parent=parent))
            self._hosts[host] = _HostObjects(provider)
        return self._hosts[host]

    def _opts(self, host: str, parent: pulumi.Resource, **more: object) -> pulumi.ResourceOptions:
        # Libvirt names are unique per host (pool, volume in a pool, network, domain): a replacement must delete
        # the old object first, or the new one would collide with it.
        return pulumi.ResourceOptions(provider=self._hosts[host].provider, parent=parent, delete_before_replace=True,
                                      **more)

    def pool(self, pool: PoolDef, parent: pulumi.Resource) -> pulumi.Resource:
        objects = self._host(pool.host, pool.uri, parent)
        objects.pool = libvirt.Pool(f"{pool.host}-pool-{pool.name}", name=pool.name, type="dir", path=pool.path,
                                    opts=self._opts(pool.host, parent))
        return objects.pool

    def _verified_image(self, image: BaseImageDef) -> VerifiedImage:
        """One checksum step per image source for the whole stack, whichever host imports it."""
        if image.source not in self._verified:
            if is_url(image.source) and not image.sha256:
                raise ConfigError(pulumi.get_stack(), [Problem(
                    "eaf:osImage.sha256", None,
                    f"the OS image is downloaded from {image.source}, and pulumi-libvirt imports a URL without any "
                    "checksum check",
                    "pin the image's sha256 (eaf:osImage.sha256, or the catalogue entry in infra/data/versions.yaml)",
                )])
            # Downloads and decompressed images land in the image cache (see infra/libvirt/images.py).
            self._verified[image.source] = VerifiedImage(
                f"{image.name}-sha256", source=image.source, sha256=image.sha256,
                checksum_file=image.checksum_file, uncompressed_sha256=image.uncompressed_sha256,
                cache_dir=str(IMAGE_CACHE),
            )
        return self._verified[image.source]

    def base_image(self, image: BaseImageDef, pool: pulumi.Resource, parent: pulumi.Resource) -> pulumi.Resource:
        verified = self._verified_image(image)
        objects = self._hosts[image.host]
        objects.base_image = libvirt.Volume(
            f"{image.host}-image-{image.name}", name=image.name, pool=pool.name, format=image.format,
            # The verified, decompressed local file (an Output of the check): the import cannot start before the
            # check passed.
            source=verified.path,
            # `source` is ForceNew in the provider, and the file's path depends on where the program runs (the
            # checkout, the image cache): the same image run from another checkout would replace the base image
            # and with it every root volume on top. What was imported is pinned by the checksum step and the
            # volume name (which carries the image's name), not by the path it came from.
            opts=self._opts(image.host, parent, ignore_changes=["source"]),
        )
        return objects.base_image

    def network(self, network: NetworkDef, parent: pulumi.Resource) -> pulumi.Resource:
        objects = self._host(network.host, network.uri, parent)
        objects.network = libvirt.Network(
            f"{network.host}-network-{network.name}", opts=self._opts(network.host, parent), **network_args(network)
        )
        return objects.network

    # -- per node -------------------------------------------------------------------------------------------------

    def volume(self, volume: VolumeDef, pool: pulumi.Resource, base_image: pulumi.Resource,
               parent: pulumi.Resource) -> pulumi.Resource:
        backing = {"base_volume_id": base_image.id} if volume.backing else {}
        resource = libvirt.Volume(
            f"{volume.host}-volume-{volume.name}", name=volume.name, pool=pool.name, format=volume.format,
            size=volume.size_bytes, **backing,
            opts=self._opts(volume.host, parent, protect=volume.protect),
        )
        self._volumes[(volume.host, volume.name)] = (volume, resource)
        return resource

    def ignition(self, ignition: IgnitionDef, content: pulumi.Input[str], pool: pulumi.Resource,
                 parent: pulumi.Resource) -> pulumi.Resource:
        resource = libvirt.Ignition(f"{ignition.host}-ignition-{ignition.name}", name=ignition.name,
                                    pool=pool.name, content=content, opts=self._opts(ignition.host, parent))
        self._ignitions[(ignition.host, ignition.name)] = resource
        return resource

    def reservation(self, reservation: ReservationDef, network: pulumi.Resource,
                    parent: pulumi.Resource) -> pulumi.Resource | None:
        """No resource of its own: the provider reserves the lease when it creates the domain, from the network
        interface's `addresses` and `hostname` (virNetworkUpdate, live and persistent), so a new node never
        redefines the network. dnsmasq answers <hostname>.<cluster domain> for the node once it holds that lease."""
        self._reservations[(reservation.host, reservation.node)] = reservation
        return None

    def domain(self, domain: DomainDef, depends_on: list[pulumi.Resource],
               parent: pulumi.Resource) -> pulumi.Resource:
        root_def, root = self._volumes[(domain.host, domain.root_volume)]
        data = [self._volumes[(domain.host, name)][1] for name in domain.data_volumes]
        # The VMs whose disks the stack protects (prod) are also kept from replacement on harmless drift.
        ignore = list(PROD_DOMAIN_IGNORE_CHANGES) if root_def.protect else []
        return libvirt.Domain(
            f"{domain.host}-domain-{domain.name}",
            opts=self._opts(domain.host, parent, depends_on=depends_on, ignore_changes=ignore),
            **domain_args(domain, root.id, [v.id for v in data],
                          self._ignitions[(domain.host, domain.ignition_volume)].id,
                          self._hosts[domain.host].network.id, self._reservations.get((domain.host, domain.node))),
        )


def network_args(network: NetworkDef) -> dict[str, object]:
    """pulumi-libvirt Network arguments. nat/route: libvirt runs DHCP (reservations via the XSLT) and DNS (api,
    api-int, node names as host records, *.apps through a dnsmasq `address=` option). bridge: the site's existing
    bridge and its DHCP/DNS; libvirt only names it."""
    common = {"name": network.name, "mode": network.mode, "bridge": network.bridge, "mtu": network.mtu,
              "autostart": True}
    if network.mode == "bridge":
        return common
    subnet = f"{network.gateway}/{network.prefix_length}"
    return {
        **common,
        "domain": network.domain,
        "addresses": [str(IPv4Network(subnet, strict=False))],
        "dhcp": {"enabled": True},
        "dns": {
            "enabled": True,
            # Answer for the cluster domain here, never forward its names upstream.
            "local_only": True,
            "hosts": [{"hostname": name, "ip": str(h.ip)} for h in network.dns_hosts for name in h.names],
            "forwarders": [{"address": str(ip)} for ip in network.dns_forwarders],
        },
        "dnsmasq_options": {"options": [
            {"option_name": "address", "option_value": f"/apps.{network.domain}/{network.apps_wildcard_ip}"},
        ]},
        "xml": {"xslt": network_xslt(network)},
    }


def domain_args(domain: DomainDef, root_id: pulumi.Input[str], data_ids: list[pulumi.Input[str]],
                ignition_id: pulumi.Input[str], network_id: pulumi.Input[str],
                reservation: ReservationDef | None) -> dict[str, object]:
    """pulumi-libvirt Domain arguments for one VM (argument names from the SDK's domain.py / _inputs.py)."""
    interface: dict[str, object] = {"network_id": network_id, "mac": domain.mac}
    if reservation is not None:
        interface.update(addresses=[str(reservation.ip)], hostname=reservation.hostname)
    args: dict[str, object] = {
        "name": domain.name,
        "type": domain.domain_type,
        "vcpu": domain.vcpu,
        "memory": domain.memory_mib,
        # q35: the machine type UEFI firmware and PCIe passthrough expect; it boots BIOS guests as well.
        "machine": "q35",
        "autostart": domain.autostart,
        "running": True,
        "coreos_ignition": ignition_id,
        "fw_cfg_name": IGNITION_FWCFG_NAME,
        "disks": [{"volume_id": root_id}, *({"volume_id": i} for i in data_ids)],
        "network_interfaces": [interface],
        # The serial console, where CoreOS and the probe image write their boot log (`virsh console`).
        "consoles": [{"type": "pty", "target_port": "0", "target_type": "serial"}],
    }
    if domain.cpu_passthrough:
        args["cpu"] = {"mode": "host-passthrough"}
    if domain.firmware == "uefi":
        args["firmware"] = OVMF_CODE
    if domain.kernel:
        args["kernel"] = domain.kernel
        args["initrd"] = domain.initrd
        if domain.cmdline:
            # The provider joins `cmdline` entries as key=value; "_" is its key for a value without a key.
            args["cmdlines"] = [{"_": domain.cmdline}]
    xslt = gpu_passthrough_xslt(domain)
    if xslt is not None:
        args["xml"] = {"xslt": xslt}
    return args

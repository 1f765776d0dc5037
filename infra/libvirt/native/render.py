"""libvirt XML for every object of the model: every value is prepared here, the templates only place them.

The templates in infra/libvirt/templates are backend-neutral (plain libvirt XML), so the provider backend's tests
can compare or validate against the same documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

from infra.libvirt.model import BaseImageDef, DomainDef, NetworkDef, PoolDef, ReservationDef, VolumeDef
from infra.libvirt.pci import pci_fields

TEMPLATES = PurePosixPath(__file__).parent.parent / "templates"
# Where QEMU (on the hypervisor) writes each domain's serial console; the local tier reads these logs.
SERIAL_LOG_DIR = "/var/log/libvirt/qemu"
# The fw_cfg key Ignition (CoreOS and the probe image) reads its config from.
IGNITION_FWCFG_NAME = "opt/com.coreos/config"
# Marks domains this project made, with node and role, in the domain's own XML.
METADATA_NS = "https://eaf-infra.invalid/libvirt/node/1"
# Pools: QEMU (libvirt-qemu) must traverse the pool directory to open disks and Ignition files.
POOL_MODE = "0711"
# Ignition files hold the pull secret on bootstrap: readable by their owner only (libvirt hands them to QEMU).
IGNITION_MODE = "0600"
KIB = 1024


@cache
def _environment():
    # Imported here: jinja2 is only needed when XML is rendered, not for importing the package.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,  # a value the code forgot to prepare is an error, never empty XML
        autoescape=True,  # values (cmdline, names) are XML-escaped
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **values: object) -> str:
    return _environment().get_template(template).render(**values)


def pool_xml(pool: PoolDef) -> str:
    return render("pool.xml.j2", name=pool.name, path=pool.path, mode=POOL_MODE)


def network_xml(network: NetworkDef) -> str:
    bridge_mode = network.mode == "bridge"
    options = () if bridge_mode else (f"address=/apps.{network.domain}/{network.apps_wildcard_ip}",)
    return render(
        "network.xml.j2", name=network.name, mode=network.mode, bridge=network.bridge, bridge_mode=bridge_mode,
        mtu=network.mtu, domain=network.domain, gateway=network.gateway, prefix_length=network.prefix_length,
        dns_forwarders=network.dns_forwarders, dns_hosts=network.dns_hosts, dhcp_hosts=network.dhcp_hosts,
        dhcp_first=network.dhcp_first, dhcp_last=network.dhcp_last, dnsmasq_options=options,
    )


def reservation_dhcp_xml(reservation: ReservationDef) -> str:
    """The <host> element virNetworkUpdate adds to the network's DHCP section."""
    return render("reservation-dhcp-host.xml.j2", mac=reservation.mac, name=reservation.hostname, ip=reservation.ip)


def reservation_dns_xml(reservation: ReservationDef) -> str:
    """The <host> element virNetworkUpdate adds to the network's DNS section."""
    return render("reservation-dns-host.xml.j2", ip=reservation.ip, names=reservation.dns_names)


def dns_host_selector_xml(ip: object) -> str:
    """Names one DNS record by address only, for virNetworkUpdate's delete: records share names (the ingress name
    has one record per router node) and libvirt refuses a delete that matches several records."""
    return render("dns-host-selector.xml.j2", ip=ip)


def volume_path(pool: PoolDef, volume_name: str) -> str:
    """A dir pool keeps each volume as a file named like the volume."""
    return str(PurePosixPath(pool.path) / volume_name)


def volume_xml(volume: VolumeDef, pool: PoolDef, backing_format: str = "qcow2") -> str:
    return render(
        "volume.xml.j2", name=volume.name, capacity_bytes=volume.size_bytes, format=volume.format, mode=None,
        backing_path=volume_path(pool, volume.backing) if volume.backing else None, backing_format=backing_format,
    )


def base_image_xml(image: BaseImageDef, capacity_bytes: int) -> str:
    """The base image's volume; its size is known only once the image is on hand (local file or download)."""
    return render("volume.xml.j2", name=image.name, capacity_bytes=capacity_bytes, format=image.format, mode=None,
                  backing_path=None, backing_format=None)


def ignition_xml(name: str, capacity_bytes: int) -> str:
    """A raw volume holding one domain's Ignition file, sized to its content."""
    return render("volume.xml.j2", name=name, capacity_bytes=capacity_bytes, format="raw", mode=IGNITION_MODE,
                  backing_path=None, backing_format=None)


@dataclass(frozen=True)
class DiskDevice:
    path: str
    format: str
    target: str


def disk_target(index: int) -> str:
    """vda, vdb, ... in the order the disks are listed (root first)."""
    return "vd" + chr(ord("a") + index)


def serial_log_path(domain: DomainDef) -> str:
    return f"{SERIAL_LOG_DIR}/{domain.name}-serial.log"


def domain_xml(domain: DomainDef, pool: PoolDef) -> str:
    volumes = (domain.root_volume, *domain.data_volumes)
    disks = [DiskDevice(volume_path(pool, v), "qcow2", disk_target(i)) for i, v in enumerate(volumes)]
    return render(
        "domain.xml.j2", domain_type=domain.domain_type, name=domain.name, metadata_ns=METADATA_NS,
        node=domain.node, role=domain.role, host=domain.host, memory_kib=domain.memory_mib * KIB, vcpu=domain.vcpu,
        ignition_fwcfg_name=IGNITION_FWCFG_NAME, ignition_path=volume_path(pool, domain.ignition_volume),
        uefi=domain.firmware == "uefi",
        # q35 is the machine type UEFI firmware and PCIe passthrough expect; it boots BIOS guests as well.
        machine="q35",
        kernel=domain.kernel, initrd=domain.initrd, cmdline=domain.cmdline,
        cpu_passthrough=domain.cpu_passthrough, disks=disks, mac=domain.mac, network=domain.network,
        serial_log=serial_log_path(domain), gpus=[pci_fields(g) for g in domain.gpus],
    )

"""The libvirt objects a cluster needs, per hypervisor host, derived from the plan. Backend-neutral.

Both backends (native: libvirt-python dynamic providers; provider: pulumi-libvirt) create exactly these objects,
so a test can prove they describe the same machines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from infra.plan.first_boot import first_boot_kargs
from infra.plan.model import ClusterPlan, NetworkPlan, PlannedNode
from infra.plan.roles import role_info
from infra.spec.os_image import OsImage

GIB = 1024**3


@dataclass(frozen=True)
class PoolDef:
    host: str
    uri: str
    name: str
    path: str


@dataclass(frozen=True)
class BaseImageDef:
    """The OS image imported once per host; root volumes are copy-on-write overlays on it."""

    host: str
    pool: str
    name: str  # volume name in the pool
    source: str  # URL, or an absolute local path (pre-staged / built here)
    sha256: str | None
    format: str
    checksum_file: str | None = None  # SHA256SUMS-style file beside a pre-staged image
    # The decompressed image's sha256, where the OS stream publishes it (source is .xz/.gz); checked after
    # decompressing. eaf:osImage.uncompressedSha256 / the catalogue entry's `uncompressedSha256`.
    uncompressed_sha256: str | None = None


@dataclass(frozen=True)
class VolumeDef:
    host: str
    pool: str
    name: str
    node: str
    kind: str  # "root" or "data"
    size_bytes: int
    format: str  # qcow2
    backing: str | None  # base image volume name (root volumes)
    protect: bool  # prod: never deleted or replaced by the program


@dataclass(frozen=True)
class DhcpHost:
    mac: str
    ip: IPv4Address
    name: str


@dataclass(frozen=True)
class DnsHost:
    ip: IPv4Address
    names: tuple[str, ...]


@dataclass(frozen=True)
class ReservationDef:
    """One node's DHCP reservation and DNS record on a nat/route network. Its own object (libvirt applies it live
    with virNetworkUpdate), so adding or removing a node never redefines the network itself."""

    host: str
    uri: str
    network: str
    node: str
    mac: str
    ip: IPv4Address
    hostname: str
    fqdn: str
    dns_names: tuple[str, ...]  # the FQDN, plus the ingress name for nodes that carry OKD's routers


@dataclass(frozen=True)
class NetworkDef:
    host: str
    uri: str
    name: str
    mode: str  # nat | route | bridge
    bridge: str  # nat/route: the bridge libvirt creates; bridge: the existing host bridge
    domain: str  # cluster domain (DNS + DHCP domain option)
    gateway: IPv4Address
    prefix_length: int
    mtu: int
    dhcp_first: IPv4Address  # nat/route: the DHCP range; nodes get reservations (ReservationDef) inside it
    dhcp_last: IPv4Address
    dhcp_hosts: tuple[DhcpHost, ...]  # static reservations in the network definition itself (none by default)
    dns_hosts: tuple[DnsHost, ...]  # api and api-int (node names come with each node's ReservationDef)
    apps_wildcard_ip: IPv4Address  # *.apps.<domain>
    dns_forwarders: tuple[IPv4Address, ...]


@dataclass(frozen=True)
class IgnitionDef:
    """Each domain's own Ignition file, stored as a volume in the host's pool (works over qemu+ssh too)."""

    host: str
    pool: str
    name: str  # volume name, e.g. eaf-dev-ctrl-0.ign
    node: str


@dataclass(frozen=True)
class DomainDef:
    host: str
    uri: str
    name: str  # libvirt domain name, unique per hypervisor
    node: str
    role: str
    domain_type: str  # kvm | qemu (TCG)
    vcpu: int
    memory_mib: int
    firmware: str  # bios | uefi
    cpu_passthrough: bool  # host-passthrough (KVM only; TCG cannot pass the host CPU through)
    mac: str
    network: str
    root_volume: str
    data_volumes: tuple[str, ...]
    ignition_volume: str
    pool: str
    gpus: tuple[str, ...]  # PCI addresses on this host, passed through with <hostdev>
    autostart: bool
    kernel: str | None  # direct kernel boot (probe image)
    initrd: str | None
    cmdline: str | None


@dataclass(frozen=True)
class HostLayout:
    host: str
    uri: str
    pool: PoolDef
    base_image: BaseImageDef
    network: NetworkDef
    volumes: tuple[VolumeDef, ...]
    ignitions: tuple[IgnitionDef, ...]
    domains: tuple[DomainDef, ...]
    reservations: tuple[ReservationDef, ...]  # nat/route networks only


def bridge_name(cluster: str, host: str) -> str:
    """Linux bridge names are at most 15 characters; derive a stable short one for nat/route networks."""
    return "virbr-" + hashlib.sha256(f"{cluster}/{host}".encode()).hexdigest()[:8]


def _resolve(path_or_url: str, project_dir: Path) -> str:
    if "://" in path_or_url or path_or_url.startswith("/"):
        return path_or_url
    return str((project_dir / path_or_url).resolve())


def _api_dns_hosts(plan: ClusterPlan) -> tuple[DnsHost, ...]:
    return (DnsHost(plan.network.api_ip, ("api." + plan.domain, "api-int." + plan.domain)),)


def kernel_cmdline(os_image: OsImage, node: PlannedNode, network: NetworkPlan) -> str | None:
    """A directly booted kernel's command line: the image's own, then the node's first-boot network arguments.
    libvirt hands the kernel this line on every boot, which is what a live/PXE-style kernel reads anyway; the keyfile
    Ignition writes names the same address, so later boots agree with it."""
    words = [*(os_image.cmdline.split() if os_image.cmdline else ()), *first_boot_kargs(node, network)]
    return " ".join(words) or None


def _root_volume(plan: ClusterPlan, node: PlannedNode) -> str:
    return f"{node.domain_name}-root.qcow2"


def host_layouts(plan: ClusterPlan, os_image: OsImage, domain_type: str, autostart: bool | None,
                 project_dir: Path) -> tuple[HostLayout, ...]:
    """Every libvirt object of the cluster, grouped by the hypervisor it lives on."""
    net = plan.network
    prod = plan.role in ("active", "spare")
    start = prod if autostart is None else autostart
    image_name = f"{plan.cluster_name}-base-{os_image.name}"
    if not image_name.endswith(".qcow2") and os_image.format == "qcow2":
        image_name += ".qcow2"
    routed = net.mode != "bridge"
    ingress = set(plan.ingress_nodes)
    # DHCP hands out only reserved addresses in practice; the range spans the CIDR after the gateway.
    dhcp_first, dhcp_last = net.gateway + 1, net.cidr.broadcast_address - 1
    layouts = []
    for host in plan.hosts:
        nodes = plan.on_host(host.name)
        network = NetworkDef(
            host=host.name, uri=host.uri, name=net.name, mode=net.mode,
            bridge=net.bridge if net.mode == "bridge" and net.bridge else bridge_name(plan.cluster_name, host.name),
            domain=plan.domain, gateway=net.gateway, prefix_length=net.prefix_length, mtu=net.mtu,
            dhcp_first=dhcp_first, dhcp_last=dhcp_last, dhcp_hosts=(),
            dns_hosts=_api_dns_hosts(plan) if routed else (),
            apps_wildcard_ip=net.ingress_ip, dns_forwarders=net.dns_servers,
        )
        volumes: list[VolumeDef] = []
        domains: list[DomainDef] = []
        ignitions: list[IgnitionDef] = []
        for node in nodes:
            root = _root_volume(plan, node)
            # The bootstrap node is disposable: protecting its disk would make Pulumi refuse to remove it after
            # the install (eaf:nodes.bootstrap.enabled: false).
            disposable = role_info(node.role).disposable
            protect = prod and not disposable
            volumes.append(VolumeDef(host.name, host.pool_name, root, node.name, "root", node.disk_gib * GIB,
                                     "qcow2", image_name, protect))
            data = []
            for disk in node.data_disks:
                name = f"{node.domain_name}-{disk.name}.qcow2"
                data.append(name)
                volumes.append(VolumeDef(host.name, host.pool_name, name, node.name, "data", disk.size_gib * GIB,
                                         "qcow2", None, protect))
            ignition = IgnitionDef(host.name, host.pool_name, f"{node.domain_name}.ign", node.name)
            ignitions.append(ignition)
            domains.append(DomainDef(
                host=host.name, uri=host.uri, name=node.domain_name, node=node.name, role=node.role.value,
                domain_type=domain_type, vcpu=node.vcpu, memory_mib=node.memory_mib, firmware=node.firmware,
                cpu_passthrough=domain_type == "kvm", mac=node.mac, network=net.name, root_volume=root,
                data_volumes=tuple(data), ignition_volume=ignition.name, pool=host.pool_name,
                gpus=tuple(g.address for g in node.gpus),
                autostart=start and not disposable,
                kernel=_resolve(os_image.kernel, project_dir) if os_image.kernel else None,
                initrd=_resolve(os_image.initrd, project_dir) if os_image.initrd else None,
                cmdline=kernel_cmdline(os_image, node, net) if os_image.kernel else os_image.cmdline,
            ))
        source = os_image.url or _resolve(os_image.path or "", project_dir)
        layouts.append(HostLayout(
            host=host.name, uri=host.uri,
            pool=PoolDef(host.name, host.uri, host.pool_name, host.pool_path),
            base_image=BaseImageDef(
                host.name, host.pool_name, image_name, source, os_image.sha256, os_image.format,
                _resolve(os_image.checksum_file, project_dir) if os_image.checksum_file else None,
                os_image.uncompressed_sha256,
            ),
            network=network, volumes=tuple(volumes), ignitions=tuple(ignitions), domains=tuple(domains),
            reservations=tuple(
                ReservationDef(host.name, host.uri, net.name, n.name, n.mac, n.ip, n.hostname, n.fqdn,
                               (n.fqdn, plan.ingress_name) if n in ingress else (n.fqdn,))
                for n in nodes
            ) if routed else (),
        ))
    return tuple(layouts)

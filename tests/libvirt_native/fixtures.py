"""Model objects for provider tests: small, uniquely named (eaf-test-*) libvirt objects on any libvirt URI."""

from __future__ import annotations

import dataclasses
import uuid
from ipaddress import IPv4Address

from infra.libvirt.model import (
    GIB,
    DnsHost,
    DomainDef,
    IgnitionDef,
    NetworkDef,
    PoolDef,
    ReservationDef,
    VolumeDef,
    bridge_name,
)

TEST_DRIVER = "test:///default"
HOST = "testhost"
# A private /24 no stack uses (local is 10.77.0.0/24, libvirt's default 192.168.122.0/24).
SUBNET = "10.98.7"
DOMAIN = "eaf-test.invalid"


@dataclasses.dataclass(frozen=True)
class ObjectSet:
    uri: str
    prefix: str
    pool: PoolDef
    network: NetworkDef
    reservation: ReservationDef
    root: VolumeDef
    data: VolumeDef
    ignition: IgnitionDef
    domain: DomainDef


def unique_prefix() -> str:
    return f"eaf-test-{uuid.uuid4().hex[:8]}"


def objects(uri: str, pool_dir: str, mode: str = "nat", kernel: tuple[str, str, str] | None = None,
            with_base_image: bool = False, subnet: str = SUBNET, prefix: str | None = None) -> ObjectSet:
    """One node's objects. With a base image the root volume is an overlay on `<prefix>-base.qcow2`."""
    prefix = prefix or unique_prefix()
    base_image = f"{prefix}-base.qcow2" if with_base_image else None
    pool = PoolDef(HOST, uri, prefix, f"{pool_dir}/{prefix}")
    gateway = IPv4Address(f"{subnet}.1")
    network = NetworkDef(
        host=HOST, uri=uri, name=prefix, mode=mode,
        bridge=bridge_name(prefix, HOST) if mode != "bridge" else "br-eaftest",
        domain=DOMAIN, gateway=gateway, prefix_length=24, mtu=1500,
        dhcp_first=IPv4Address(f"{subnet}.2"), dhcp_last=IPv4Address(f"{subnet}.254"), dhcp_hosts=(),
        dns_hosts=(DnsHost(IPv4Address(f"{subnet}.5"), (f"api.{DOMAIN}", f"api-int.{DOMAIN}")),),
        apps_wildcard_ip=IPv4Address(f"{subnet}.5"), dns_forwarders=(),
    )
    mac = "52:54:00:e7:5e:" + subnet.rsplit(".", 1)[1][-2:].rjust(2, "0")
    reservation = ReservationDef(HOST, uri, network.name, "node-0", mac, IPv4Address(f"{subnet}.20"), "node-0",
                                 f"node-0.{DOMAIN}", (f"node-0.{DOMAIN}", f"ingress.{DOMAIN}"))
    root = VolumeDef(HOST, pool.name, f"{prefix}-root.qcow2", "node-0", "root", GIB, "qcow2", base_image, False)
    data = VolumeDef(HOST, pool.name, f"{prefix}-data.qcow2", "node-0", "data", GIB, "qcow2", None, False)
    ignition = IgnitionDef(HOST, pool.name, f"{prefix}.ign", "node-0")
    domain = DomainDef(
        host=HOST, uri=uri, name=prefix, node="node-0", role="worker", domain_type="qemu", vcpu=1, memory_mib=256,
        firmware="bios", cpu_passthrough=False, mac=mac, network=network.name, root_volume=root.name,
        data_volumes=(), ignition_volume=ignition.name, pool=pool.name, gpus=(), autostart=False,
        kernel=kernel[0] if kernel else None, initrd=kernel[1] if kernel else None,
        cmdline=kernel[2] if kernel else None,
    )
    return ObjectSet(uri, prefix, pool, network, reservation, root, data, ignition, domain)

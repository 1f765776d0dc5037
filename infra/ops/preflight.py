"""Preflight: can every hypervisor of a stack take its VMs? Read-only; nothing is created or changed.

Per host: reachable over its libvirt URI; vCPUs and RAM left after the other VMs there; room in the storage pool;
the cluster network (the bridge exists, or no other libvirt network overlaps the CIDR); every GPU the plan passes
through exists, is used by no other VM, and its IOMMU group holds nothing else that would have to move with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from infra.libvirt.model import GIB, HostLayout, host_layouts
from infra.libvirt.pci import address_text
from infra.paths import PROJECT_DIR
from infra.spec.load import LoadedStack

# Memory the hypervisor itself keeps (kernel, libvirtd, QEMU overhead per VM): not handed to VMs.
HOST_RESERVED_MIB = 2048


@dataclass(frozen=True)
class Check:
    host: str
    what: str
    ok: bool
    detail: str


def _libvirt():
    import libvirt  # only preflight needs the binding at run time

    return libvirt


def _open(uri: str):
    libvirt = _libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors come back as exceptions, not on stderr
    return libvirt.open(uri)


def _pci_name(address: str) -> str:
    return "pci_" + address.replace(":", "_").replace(".", "_")


def _other_domains(conn, ours: set[str]):
    return [d for d in conn.listAllDomains() if d.name() not in ours]


def _cpu_and_memory(conn, layout: HostLayout, host_cpus: int, ours: set[str]) -> list[Check]:
    info = conn.getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
    others = [d for d in _other_domains(conn, ours) if d.isActive()]
    other_vcpus = sum(d.info()[3] for d in others)
    other_mib = sum(d.info()[1] // 1024 for d in others)
    need_vcpus = sum(d.vcpu for d in layout.domains)
    need_mib = sum(d.memory_mib for d in layout.domains)
    checks = []
    free_vcpus = host_cpus - other_vcpus
    overcommit = f"; {host_cpus} vCPU declared for {info[2]} logical CPUs" if host_cpus > info[2] else ""
    checks.append(Check(layout.host, "cpu", need_vcpus <= free_vcpus,
                        f"needs {need_vcpus} vCPU, {free_vcpus} free ({other_vcpus} used by {len(others)} other "
                        f"running VM(s){overcommit})"))
    free_mib = info[1] - HOST_RESERVED_MIB - other_mib
    checks.append(Check(layout.host, "memory", need_mib <= free_mib,
                        f"needs {need_mib} MiB, {free_mib} MiB free ({info[1]} MiB total, {HOST_RESERVED_MIB} MiB "
                        f"kept for the host, {other_mib} MiB used by other running VMs)"))
    return checks


def _pool(conn, layout: HostLayout) -> Check:
    libvirt = _libvirt()
    need = sum(v.size_bytes for v in layout.volumes)
    try:
        pool = conn.storagePoolLookupByName(layout.pool.name)
    except libvirt.libvirtError:
        return Check(layout.host, "pool", True,
                     f"pool {layout.pool.name} absent: the program creates it at {layout.pool.path}; "
                     f"its volumes may grow to {need / GIB:.0f} GiB there")
    existing = set(pool.listVolumes()) if pool.isActive() else set()
    need = sum(v.size_bytes for v in layout.volumes if v.name not in existing)
    available = pool.info()[3]
    return Check(layout.host, "pool", need <= available,
                 f"pool {layout.pool.name}: new volumes may grow to {need / GIB:.0f} GiB, "
                 f"{available / GIB:.0f} GiB free")


def _network(conn, layout: HostLayout, cidr: ipaddress.IPv4Network) -> Check:
    libvirt = _libvirt()
    net = layout.network
    if net.mode == "bridge":
        names = {i.name() for i in conn.listAllInterfaces()}
        return Check(layout.host, "network", net.bridge in names,
                     f"host bridge {net.bridge} " + ("present" if net.bridge in names else
                                                    f"missing (host interfaces: {', '.join(sorted(names)) or 'none'})"))
    clashes = []
    for other in conn.listAllNetworks():
        if other.name() == net.name:
            continue
        for ip in etree.fromstring(other.XMLDesc(0)).findall("ip"):
            if ip.get("family", "ipv4") != "ipv4" or ip.get("address") is None:
                continue
            mask = ip.get("prefix") or ip.get("netmask")
            theirs = ipaddress.IPv4Network(f"{ip.get('address')}/{mask}", strict=False)
            if theirs.overlaps(cidr):
                clashes.append(f"{other.name()} ({theirs})")
    try:
        conn.networkLookupByName(net.name)
        state = f"network {net.name} exists"
    except libvirt.libvirtError:
        state = f"network {net.name} absent: the program creates it"
    if clashes:
        return Check(layout.host, "network", False,
                     f"{cidr} overlaps {', '.join(clashes)}; pick another eaf:network.cidr")
    return Check(layout.host, "network", True, f"{state}; {cidr} overlaps no other libvirt network")


def _gpus(conn, layout: HostLayout, ours: set[str]) -> list[Check]:
    libvirt = _libvirt()
    in_use: dict[str, str] = {}
    for domain in _other_domains(conn, ours):
        for address in etree.fromstring(domain.XMLDesc(0)).findall("devices/hostdev/source/address"):
            in_use[address_text(address)] = domain.name()
    checks = []
    for domain in layout.domains:
        for address in domain.gpus:
            what = f"gpu {address}"
            try:
                device = etree.fromstring(conn.nodeDeviceLookupByName(_pci_name(address)).XMLDesc(0))
            except libvirt.libvirtError:
                checks.append(Check(layout.host, what, False,
                                    f"no PCI device {address} on this host (for {domain.node})"))
                continue
            product = device.findtext("capability/product") or "unknown device"
            if address in in_use:
                checks.append(Check(layout.host, what, False,
                                    f"{product} is passed through to {in_use[address]} already; free it first"))
                continue
            group = device.find("capability/iommuGroup")
            if group is None:
                checks.append(Check(layout.host, what, False, f"{product} is in no IOMMU group: enable the IOMMU "
                                                              "(intel_iommu=on / amd_iommu=on on the host's kernel)"))
                continue
            members = {address_text(a) for a in group.findall("address")} - set(domain.gpus)
            checks.append(Check(
                layout.host, what, not members,
                f"{product}, IOMMU group {group.get('number')}"
                + (f" also holds {', '.join(sorted(members))}: they would have to be detached with it"
                   if members else ": detachable on its own, for " + domain.node),
            ))
    return checks


def preflight(loaded: LoadedStack, connect: Callable[[str], object] = _open) -> list[Check]:
    libvirt = _libvirt()
    spec = loaded.spec
    layouts = host_layouts(loaded.plan, loaded.os_image, spec.libvirt.domain_type, spec.libvirt.autostart,
                           PROJECT_DIR)  # what infra.libvirt.create_machines would create
    declared = {h.name: h.cpus for h in spec.hosts}
    checks: list[Check] = []
    for layout in layouts:
        try:
            conn = connect(layout.uri)
        except libvirt.libvirtError as error:
            checks.append(Check(layout.host, "reachable", False, f"{layout.uri}: {error.get_error_message()}"))
            continue
        try:
            checks.append(Check(layout.host, "reachable", True, f"{layout.uri}: libvirt {conn.getLibVersion()}"))
            ours = {d.name for d in layout.domains}
            checks += _cpu_and_memory(conn, layout, declared[layout.host], ours)
            checks.append(_pool(conn, layout))
            checks.append(_network(conn, layout, loaded.plan.network.cidr))
            checks += _gpus(conn, layout, ours)
        finally:
            conn.close()
    return checks


def render_checks(checks: list[Check]) -> str:
    header = ("host", "check", "result", "detail")
    rows = [(c.host, c.what, "ok" if c.ok else "FAIL", c.detail) for c in checks]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)), row[3]])
        for row in [header, *rows]
    )

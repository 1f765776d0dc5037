"""The providers against this machine's real libvirtd (qemu:///system, TCG): a node booting the probe image.

Slow tier (about a minute): libvirtd is started by tests.support.libvirtd; the probe image must have been built
(scripts/build-probe-image.sh). Everything is named eaf-test-* on 10.98.7.0/24 and 10.98.8.0/24 and is deleted
again, also when a test fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from infra.libvirt.model import BaseImageDef, bridge_name
from infra.libvirt.native import props, providers, render
from infra.libvirt.native.connection import LibvirtObjectError, libvirt_module
from infra.libvirt.native.transfer import ImageError
from tests.libvirt_native.conftest import Ledger
from tests.libvirt_native.fixtures import HOST
from tests.libvirt_native.system import (
    PROBE,
    SYSTEM,
    create_node,
    ignition_for,
    probe_line,
    probe_node,
    remove_logs,
    system,
)

pytestmark = [pytest.mark.real, pytest.mark.slow]


@pytest.fixture(scope="module")
def node():
    """One probe VM and all its objects on the real libvirtd, for the tests of this module."""
    conn = system()
    world, image = probe_node("10.98.7")
    ledger = Ledger()
    try:
        ignition = ignition_for(world)
        made = create_node(ledger, world, image, ignition)
        yield world, made, ignition, conn
    finally:
        problems = ledger.clean()
        remove_logs(world.domain.name)
        assert not problems, f"cleanup failed: {problems}"


def test_vm_boots_and_sees_its_planned_lease_dns_names_and_ignition(node):
    world, _, ignition, _ = node
    probe = probe_line(world)
    assert probe["ip"] == f"{world.reservation.ip}/24" and probe["mac"] == world.domain.mac, probe
    assert probe["ignition_sha256"] == hashlib.sha256(ignition.encode()).hexdigest(), probe
    assert probe["dns"] == {"api.eaf-test.invalid": "10.98.7.5", "api-int.eaf-test.invalid": "10.98.7.5",
                            "probe-check.apps.eaf-test.invalid": "10.98.7.5"}, probe
    assert probe["disk_marker"] == "eaf-probe-base v1" and probe["errors"] == [], probe


def test_every_object_reads_back_without_drift_and_diffs_clean(node):
    _, made, _, _ = node
    for kind, (provider, resource_id, inputs, outs) in made.items():
        read = provider.read(resource_id, {**inputs, **outs})
        assert read.id == resource_id and read.outs["drift"] == [], f"{kind}: {read.outs.get('drift')}"
        diff = provider.diff(resource_id, read.outs, inputs)
        assert (diff.changes, diff.replaces) == (False, []), f"{kind}: {diff.__dict__}"


def test_memory_change_redefines_the_running_vm_and_is_pending_restart(node):
    world, made, _, conn = node
    provider, domain_id, inputs, outs = made["domain"]
    bigger = props.domain_props(dataclasses.replace(world.domain, memory_mib=384), world.pool)
    try:
        diff = provider.diff(domain_id, outs, bigger)
        updated = provider.update(domain_id, outs, bigger)
        assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
        assert "memory: 268435456 -> 402653184 (takes effect after restart)" in updated.outs["pending_restart"]
        dom = conn.lookupByUUIDString(domain_id)
        assert dom.isActive(), "the update must not stop the VM"
        persistent = dom.XMLDesc(libvirt_module().VIR_DOMAIN_XML_INACTIVE)
        assert "<memory unit='KiB'>393216</memory>" in persistent, persistent
    finally:
        provider.update(domain_id, outs, inputs)


def test_memory_edited_with_libvirt_is_reported_as_drift_on_refresh(node):
    libvirt = libvirt_module()
    _, made, _, conn = node
    provider, domain_id, inputs, outs = made["domain"]
    conn.lookupByUUIDString(domain_id).setMemoryFlags(
        512 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    try:
        read = provider.read(domain_id, {**inputs, **outs})
        diff = provider.diff(domain_id, read.outs, inputs)
        assert "memory: declared 268435456, live 536870912" in read.outs["drift"], read.outs["drift"]
        assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
    finally:
        provider.update(domain_id, outs, inputs)
    assert provider.read(domain_id, {**inputs, **outs}).outs["drift"] == [], "update did not restore the memory"


def test_ignition_update_rewrites_the_content_in_place(node):
    world, made, ignition, _ = node
    provider, volume_id, inputs, outs = made["ignition"]
    changed = props.ignition_props(world.ignition, SYSTEM, ignition.replace("3.2.0", "3.2.0", 1) + "\n" * 3)
    try:
        assert provider.diff(volume_id, outs, changed).changes is True
        updated = provider.update(volume_id, outs, changed)
        read = provider.read(volume_id, updated.outs)
        assert read.outs["content_sha256"] == hashlib.sha256(changed["content"].encode()).hexdigest()
        assert read.outs["path"] == outs["path"], "the fw_cfg path of the domain must stay valid"
    finally:
        provider.update(volume_id, outs, inputs)


def test_domain_whose_start_fails_is_not_left_defined(node):
    world, _, _, conn = node
    broken = dataclasses.replace(world.domain, name=world.domain.name + "-broken", kernel="/nonexistent/vmlinuz",
                                 mac="52:54:00:e7:5e:ff")
    with pytest.raises(LibvirtObjectError) as error:
        providers.DomainProvider().create(props.domain_props(broken, world.pool))
    assert HOST in str(error.value) and broken.name in str(error.value), str(error.value)
    assert broken.name not in [d.name() for d in conn.listAllDomains()], "a failed create left the domain defined"


def test_base_image_with_the_wrong_checksum_creates_nothing(node):
    world, made, _, conn = node
    wrong = BaseImageDef(HOST, world.pool.name, world.prefix + "-wrong.qcow2", str(PROBE / "probe-base.qcow2"),
                         "0" * 64, "qcow2")
    with pytest.raises(ImageError) as error:
        providers.BaseImageProvider().create(props.base_image_props(wrong, SYSTEM))
    assert "sha256" in str(error.value) and "probe-base.qcow2" in str(error.value), str(error.value)
    assert wrong.name not in conn.storagePoolLookupByName(world.pool.name).listVolumes()


def test_delete_leaves_no_domain_volume_network_or_pool_behind():
    conn = system()
    world, image = probe_node("10.98.8")
    ledger = Ledger()
    try:
        create_node(ledger, world, image, ignition_for(world))
        pool_path = Path(world.pool.path)
        assert pool_path.is_dir()
    finally:
        problems = ledger.clean()
        remove_logs(world.domain.name)
    assert not problems, problems
    assert world.domain.name not in [d.name() for d in conn.listAllDomains()], world.domain.name
    assert world.network.name not in [n.name() for n in conn.listAllNetworks()], world.network.name
    assert world.pool.name not in [p.name() for p in conn.listAllStoragePools()], world.pool.name
    assert not pool_path.exists(), f"{pool_path} is left behind"


def test_uefi_domain_delete_removes_its_nvram():
    conn = system()
    world, _ = probe_node("10.98.9")
    ledger = Ledger()
    uefi = dataclasses.replace(world.domain, firmware="uefi", kernel=None, initrd=None, cmdline=None)
    try:
        ledger.create(providers.PoolProvider(), props.pool_props(world.pool))
        ledger.create(providers.NetworkProvider(), props.network_props(world.network))
        ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
        conn.storagePoolLookupByName(world.pool.name).createXML(
            render.volume_xml(dataclasses.replace(world.data, name=world.root.name), world.pool), 0)
        ledger.create(providers.IgnitionProvider(), props.ignition_props(world.ignition, SYSTEM, ignition_for(world)))
        domain = ledger.create(providers.DomainProvider(), props.domain_props(uefi, world.pool))
        persistent = conn.lookupByUUIDString(domain.id).XMLDesc(0)
        nvram = persistent.split("<nvram", 1)[1].split(">", 1)[1].split("<", 1)[0]
        assert Path(nvram).is_file(), f"UEFI domain has no NVRAM file: {persistent}"
        providers.DomainProvider().delete(domain.id, domain.outs)
        ledger.forget(domain.id)
        assert not Path(nvram).exists(), f"{nvram} survived the delete"
    finally:
        conn_pool = conn.storagePoolLookupByName(world.pool.name)
        if world.root.name in conn_pool.listVolumes():
            conn_pool.storageVolLookupByName(world.root.name).delete(0)
        problems = ledger.clean()
        remove_logs(uefi.name)
    assert not problems, problems


def test_network_that_cannot_start_is_not_left_defined(node):
    world, _, _, conn = node
    # Same subnet as the node's running network: libvirt refuses to start it (address already in use).
    clash = dataclasses.replace(world.network, name=world.prefix + "-clash",
                                bridge=bridge_name(world.prefix + "-clash", HOST))
    with pytest.raises(LibvirtObjectError) as error:
        providers.NetworkProvider().create(props.network_props(clash))
    assert HOST in str(error.value) and clash.name in str(error.value), str(error.value)
    assert clash.name not in [n.name() for n in conn.listAllNetworks()], "a failed create left the network defined"


def test_parallel_creates_on_one_host_all_succeed(node):
    """Pulumi creates a host's volumes, Ignition files and reservations at the same time, on several threads of
    one provider process sharing one connection."""
    world, made, _, conn = node
    net_id = made["network"][1]
    jobs = []
    for n in range(5):
        volume = dataclasses.replace(world.data, name=f"{world.prefix}-par-{n}.qcow2")
        ignition = dataclasses.replace(world.ignition, name=f"{world.prefix}-par-{n}.ign")
        reservation = dataclasses.replace(world.reservation, node=f"par-{n}", hostname=f"par-{n}",
                                          fqdn=f"par-{n}.eaf-test.invalid", mac=f"52:54:00:e7:5f:{n:02x}",
                                          dns_names=(f"par-{n}.eaf-test.invalid", "ingress.eaf-test.invalid"),
                                          ip=IPv4Address(f"10.98.7.{100 + n}"))
        jobs += [(providers.VolumeProvider(), props.volume_props(volume, world.pool)),
                 (providers.IgnitionProvider(), props.ignition_props(ignition, SYSTEM, json.dumps({"n": n}))),
                 (providers.ReservationProvider(), props.reservation_props(reservation, world.network, net_id))]
    ledger = Ledger()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda job: _attempt(ledger, *job), jobs))
        failures = [r for r in results if r is not None]
        assert failures == [], failures
        network_xml = conn.networkLookupByUUIDString(net_id).XMLDesc(0)
        assert all(f"par-{n}.eaf-test.invalid" in network_xml for n in range(5)), network_xml
    finally:
        problems = ledger.clean()
    assert not problems, problems


def _attempt(ledger: Ledger, provider, inputs) -> str | None:
    try:
        ledger.create(provider, inputs)
        return None
    except LibvirtObjectError as error:
        return str(error)

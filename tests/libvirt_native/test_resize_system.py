"""Growing a node's disks in place on a running TCG VM (qemu:///system): the root disk (diskGiB) and a protected
data disk grow through the volume provider's update, live, with no replacement; the guest sees the new sizes.
Shrinking is refused before anything changes.

The probe prints its disks' sizes (from /sys/block/vd*/size) every 2 s here, so the guest's view is read from
its serial console.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest

from infra.libvirt.model import GIB
from infra.libvirt.native import props, providers
from tests.libvirt_native.conftest import Ledger
from tests.libvirt_native.system import create_node, ignition_for, probe_line, probe_node, remove_logs, system

pytestmark = [pytest.mark.real, pytest.mark.slow]


@pytest.fixture(scope="module")
def running():
    """A probe VM with a root disk (vda, 1 GiB) and a protected data disk (vdb, 1 GiB), booted."""
    conn = system()
    world, image = probe_node("10.98.13", cmdline_extra="eaf.probe_interval=2")
    data = dataclasses.replace(world.data, protect=True)
    world = dataclasses.replace(world, data=data,
                                domain=dataclasses.replace(world.domain, data_volumes=(data.name,)))
    ledger = Ledger()
    try:
        made = create_node(ledger, world, image, ignition_for(world), extra_volumes=(data,))
        booted = probe_line(world, lambda line: line["disk_bytes"] == {"vda": GIB, "vdb": GIB})
        yield world, made, conn, booted
    finally:
        problems = ledger.clean()
        remove_logs(world.domain.name)
        assert not problems, f"cleanup failed: {problems}"


def _qemu_img_virtual_size(path: str) -> int:
    # -U: the running VM holds the image's lock; reading its header is safe.
    done = subprocess.run(["qemu-img", "info", "-U", "--output=json", path], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)["virtual-size"]


def _grow(made, kind: str, new_props: dict):
    provider, volume_id, _inputs, outs = made[kind]
    check = provider.check(outs, new_props)
    diff = provider.diff(volume_id, outs, new_props)
    assert check.failures == [], [f.reason for f in check.failures]
    assert (diff.changes, diff.replaces) == (True, []), f"{kind}: growing must not replace: {diff.__dict__}"
    return provider.update(volume_id, outs, new_props)


def test_growing_the_root_and_a_protected_data_disk_resizes_them_live(running):
    world, made, conn, booted = running
    domain_id = made["domain"][1]
    root_outs = _grow(made, "root", props.volume_props(dataclasses.replace(world.root, size_bytes=2 * GIB),
                                                       world.pool)).outs
    data_outs = _grow(made, world.data.name, props.volume_props(
        dataclasses.replace(world.data, size_bytes=3 * GIB), world.pool)).outs
    dom = conn.lookupByUUIDString(domain_id)
    assert dom.isActive() and dom.UUIDString() == domain_id, "the VM keeps running, the same domain"
    assert (dom.blockInfo("vda")[0], dom.blockInfo("vdb")[0]) == (2 * GIB, 3 * GIB), "QEMU's view"
    assert (_qemu_img_virtual_size(root_outs["path"]), _qemu_img_virtual_size(data_outs["path"])) == (
        2 * GIB, 3 * GIB), "the image files"
    assert (root_outs["live"]["capacity"], data_outs["live"]["capacity"]) == (str(2 * GIB), str(3 * GIB))
    assert root_outs["drift"] == data_outs["drift"] == [], (root_outs["drift"], data_outs["drift"])
    grown = probe_line(world, lambda line: line["seq"] > booted["seq"] and line["disk_bytes"].get("vdb") == 3 * GIB)
    assert grown["disk_bytes"] == {"vda": 2 * GIB, "vdb": 3 * GIB}, f"the guest's view: {grown}"
    assert grown["disk_marker"] == "eaf-probe-base v1" and grown["errors"] == [], grown
    made["root"] = (*made["root"][:3], root_outs)
    made[world.data.name] = (*made[world.data.name][:3], data_outs)


def test_a_volume_no_running_vm_uses_grows_through_libvirt(running):
    world, made, conn, _ = running
    spare = dataclasses.replace(world.data, name=f"{world.prefix}-spare.qcow2", protect=False)
    ledger = Ledger()
    try:
        created = ledger.create(providers.VolumeProvider(), props.volume_props(spare, world.pool))
        bigger = props.volume_props(dataclasses.replace(spare, size_bytes=2 * GIB), world.pool)
        updated = providers.VolumeProvider().update(created.id, created.outs, bigger)
        assert conn.storageVolLookupByKey(created.id).info()[1] == 2 * GIB
        assert _qemu_img_virtual_size(updated.outs["path"]) == 2 * GIB
    finally:
        assert ledger.clean() == []


def test_shrinking_a_disk_is_refused_and_changes_nothing(running):
    world, made, conn, _ = running
    provider, volume_id, _inputs, outs = made["root"]
    before = conn.storageVolLookupByKey(volume_id).info()[1]
    smaller = props.volume_props(dataclasses.replace(world.root, size_bytes=GIB), world.pool)
    failures = provider.check(outs, smaller).failures
    assert len(failures) == 1 and "would shrink from 2 GiB to 1 GiB" in failures[0].reason, failures
    assert "disks only grow in place" in failures[0].reason, failures[0].reason
    assert conn.storageVolLookupByKey(volume_id).info()[1] == before

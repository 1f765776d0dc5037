"""Every provider method against libvirt's built-in test driver (test:///default: no daemon, in process)."""

from __future__ import annotations

import dataclasses

import pytest

from infra.libvirt.native import props, providers
from infra.libvirt.native.connection import LibvirtObjectError, connection, libvirt_module
from tests.libvirt_native.fixtures import HOST, TEST_DRIVER, objects


@pytest.fixture
def conn():
    return connection(TEST_DRIVER, HOST)


@pytest.fixture
def world():
    # The test driver keeps pools in memory only; the path is never touched on disk.
    return objects(TEST_DRIVER, "/eaf-test-driver")


@pytest.fixture
def pool(world, ledger):
    return ledger.create(providers.PoolProvider(), props.pool_props(world.pool))


# --- pool ---------------------------------------------------------------------------------------------------------


def test_pool_create_defines_starts_and_autostarts_it(world, pool, conn):
    live = conn.storagePoolLookupByUUIDString(pool.id)
    assert (live.name(), live.isActive(), live.autostart()) == (world.pool.name, 1, 1), world.pool.name


def test_pool_read_reports_its_path_without_drift(world, pool):
    read = providers.PoolProvider().read(pool.id, pool.outs)
    assert read.outs["live"]["target/path"] == world.pool.path
    assert read.outs["drift"] == [], read.outs["drift"]


def test_pool_diff_of_unchanged_inputs_is_empty(world, pool):
    diff = providers.PoolProvider().diff(pool.id, pool.outs, props.pool_props(world.pool))
    assert (diff.changes, diff.replaces) == (False, []), world.pool.name


def test_pool_new_path_needs_a_new_pool(world, pool):
    moved = props.pool_props(dataclasses.replace(world.pool, path=world.pool.path + "-moved"))
    diff = providers.PoolProvider().diff(pool.id, pool.outs, moved)
    assert diff.changes and "xml" in diff.replaces, diff.__dict__


def test_pool_delete_removes_it(world, pool, conn, ledger):
    providers.PoolProvider().delete(pool.id, pool.outs)
    ledger.forget(pool.id)
    assert world.pool.name not in conn.listStoragePools() + conn.listDefinedStoragePools()


def test_pool_create_refuses_a_pool_of_that_name_made_outside_the_stack(world, pool):
    other = props.pool_props(dataclasses.replace(world.pool, path=world.pool.path + "-elsewhere"))
    with pytest.raises(LibvirtObjectError) as error:
        providers.PoolProvider().create(other)
    message = str(error.value)
    assert HOST in message and world.pool.name in message and "already exists" in message, message
    assert "target/path: is /eaf-test-driver" in message, "the refusal says what differs"


def test_pool_create_adopts_an_identical_pool_an_interrupted_up_left_behind(world, pool, conn):
    again = providers.PoolProvider().create(props.pool_props(world.pool))
    assert again.id == pool.id and again.outs["drift"] == [], again.outs
    assert [p.name() for p in conn.listAllStoragePools()].count(world.pool.name) == 1


# --- network + reservations ---------------------------------------------------------------------------------------


def test_network_create_starts_and_autostarts_it_with_its_dns_and_dhcp(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    live = conn.networkLookupByUUIDString(net.id)
    assert (live.isActive(), live.autostart()) == (1, 1), world.network.name
    facts = net.outs["live"]
    assert facts["ip/dhcp/range"] == "10.98.7.2 10.98.7.254" and facts["domain/@name"] == "eaf-test.invalid", facts
    assert facts["dns/host[@ip='10.98.7.5']"] == "api.eaf-test.invalid api-int.eaf-test.invalid", facts


def test_bridge_network_reads_back_without_drift_and_diffs_clean(world, ledger):
    bridged = dataclasses.replace(world.network, mode="bridge", bridge="br-eaftest")
    net = ledger.create(providers.NetworkProvider(), props.network_props(bridged))
    read = providers.NetworkProvider().read(net.id, net.outs)
    diff = providers.NetworkProvider().diff(net.id, read.outs, props.network_props(bridged))
    assert (read.outs["drift"], diff.changes, diff.replaces) == ([], False, []), read.outs["drift"]


def test_network_new_cidr_needs_a_new_network(world, ledger):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    moved = props.network_props(dataclasses.replace(world.network, prefix_length=25))
    diff = providers.NetworkProvider().diff(net.id, net.outs, moved)
    assert diff.changes and "xml" in diff.replaces and diff.delete_before_replace, diff.__dict__


def test_reservation_adds_the_dhcp_host_and_dns_record_to_the_running_network(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    reservation = ledger.create(providers.ReservationProvider(),
                                props.reservation_props(world.reservation, world.network, net.id))
    xml = conn.networkLookupByUUIDString(net.id).XMLDesc(0)
    assert "<host mac='52:54:00:e7:5e:07' name='node-0' ip='10.98.7.20'/>" in xml, xml
    assert "<hostname>node-0.eaf-test.invalid</hostname>" in xml, xml
    assert "<hostname>ingress.eaf-test.invalid</hostname>" in xml, xml
    assert reservation.outs["drift"] == [], reservation.outs["drift"]


def test_network_redefinition_keeps_the_node_reservations(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    ledger.create(providers.ReservationProvider(), props.reservation_props(world.reservation, world.network, net.id))
    forwarded = props.network_props(dataclasses.replace(world.network, dns_forwarders=(world.network.gateway + 200,)))
    diff = providers.NetworkProvider().diff(net.id, net.outs, forwarded)
    updated = providers.NetworkProvider().update(net.id, net.outs, forwarded)
    assert diff.changes and diff.replaces == [], diff.__dict__
    # (The test driver drops dnsmasq options, so those are reported pending as well; qemu:///system keeps them.)
    assert "dns/forwarder: (none) -> 10.98.7.201 (takes effect when the network restarts)" in (
        updated.outs["pending_restart"]), updated.outs["pending_restart"]
    assert "node-0.eaf-test.invalid" in conn.networkLookupByUUIDString(net.id).XMLDesc(0), "reservation lost"


def test_reservation_ip_change_is_updated_in_place(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    old = ledger.create(providers.ReservationProvider(),
                        props.reservation_props(world.reservation, world.network, net.id))
    moved = dataclasses.replace(world.reservation, ip=world.reservation.ip + 1)
    new_props = props.reservation_props(moved, world.network, net.id)
    diff = providers.ReservationProvider().diff(old.id, old.outs, new_props)
    updated = providers.ReservationProvider().update(old.id, old.outs, new_props)
    assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
    assert updated.outs["live"] == {"dhcp": "10.98.7.21 node-0",
                                     "dns": "node-0.eaf-test.invalid ingress.eaf-test.invalid"}, updated.outs
    assert "10.98.7.20" not in conn.networkLookupByUUIDString(net.id).XMLDesc(0), "old reservation left behind"


def test_reservation_removed_out_of_band_reads_as_gone(world, ledger):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    reservation = ledger.create(providers.ReservationProvider(),
                                props.reservation_props(world.reservation, world.network, net.id))
    providers.ReservationProvider().delete(reservation.id, reservation.outs)
    assert providers.ReservationProvider().read(reservation.id, reservation.outs).id is None


# --- volumes ------------------------------------------------------------------------------------------------------


def test_volume_create_read_and_unchanged_diff(world, pool, ledger):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    read = providers.VolumeProvider().read(volume.id, volume.outs)
    diff = providers.VolumeProvider().diff(volume.id, read.outs, props.volume_props(world.data, world.pool))
    assert read.outs["live"]["capacity"] == str(world.data.size_bytes), read.outs["live"]
    assert (read.outs["drift"], diff.changes) == ([], False), read.outs["drift"]


def test_volume_growth_is_an_update_in_place(world, pool, ledger):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    bigger = props.volume_props(dataclasses.replace(world.data, size_bytes=2 * world.data.size_bytes), world.pool)
    diff = providers.VolumeProvider().diff(volume.id, volume.outs, bigger)
    assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
    assert providers.VolumeProvider().check(volume.outs, bigger).failures == []


def test_volume_shrink_is_refused_before_anything_changes(world, pool, ledger):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    smaller = props.volume_props(dataclasses.replace(world.data, size_bytes=world.data.size_bytes // 2), world.pool)
    failures = providers.VolumeProvider().check(volume.outs, smaller).failures
    assert [f.property for f in failures] == ["xml"], failures
    assert "would shrink from 1 GiB to 0.5 GiB" in failures[0].reason and HOST in failures[0].reason, failures


def test_volume_with_another_backing_file_is_a_replacement_not_a_shrink(world, pool, ledger):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    rebased = props.volume_props(dataclasses.replace(world.data, size_bytes=world.data.size_bytes // 2,
                                                     backing=world.root.name), world.pool)
    assert providers.VolumeProvider().check(volume.outs, rebased).failures == []
    diff = providers.VolumeProvider().diff(volume.id, volume.outs, rebased)
    assert "xml" in diff.replaces and diff.delete_before_replace, diff.__dict__


def test_volume_delete_removes_it(world, pool, ledger, conn):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    providers.VolumeProvider().delete(volume.id, volume.outs)
    ledger.forget(volume.id)
    assert world.data.name not in conn.storagePoolLookupByName(world.pool.name).listVolumes()


def test_protected_volume_is_never_deleted(world, pool, ledger, conn):
    guarded = dataclasses.replace(world.data, protect=True)
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(guarded, world.pool))
    with pytest.raises(LibvirtObjectError) as error:
        providers.VolumeProvider().delete(volume.id, volume.outs)
    assert "protected" in str(error.value) and guarded.name in str(error.value) and HOST in str(error.value)
    assert guarded.name in conn.storagePoolLookupByName(world.pool.name).listVolumes(), "protected volume deleted"


def test_volume_in_a_missing_pool_fails_naming_host_volume_and_libvirts_reason(world):
    with pytest.raises(LibvirtObjectError) as error:
        providers.VolumeProvider().create(props.volume_props(world.data, world.pool))
    message = str(error.value)
    assert HOST in message and world.data.name in message and "pool" in message.split(":", 2)[-1], message


def test_ignition_upload_failure_leaves_no_volume_and_does_not_echo_the_content(world, pool, conn):
    # The test driver has no virStorageVolUpload: the create fails after the volume was made.
    secret = '{"ignition":{"version":"3.2.0"},"pull":"s3cr3t-pull-secret"}'
    with pytest.raises(LibvirtObjectError) as error:
        providers.IgnitionProvider().create(props.ignition_props(world.ignition, TEST_DRIVER, secret))
    assert "s3cr3t" not in str(error.value), "the Ignition content leaked into an error"
    assert world.ignition.name not in conn.storagePoolLookupByName(world.pool.name).listVolumes()


def test_ignition_diff_compares_content_by_hash(world):
    olds = {"uri": TEST_DRIVER, "pool": world.pool.name, "name": world.ignition.name,
            "content_sha256": "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"}  # sha256("foobar")
    same = props.ignition_props(world.ignition, TEST_DRIVER, "foobar")
    other = props.ignition_props(world.ignition, TEST_DRIVER, "foobaz")
    assert providers.IgnitionProvider().diff("id", olds, same).changes is False
    assert providers.IgnitionProvider().diff("id", olds, other).changes is True


# --- domains ------------------------------------------------------------------------------------------------------


@pytest.fixture
def domain(world, ledger):
    return ledger.create(providers.DomainProvider(), props.domain_props(world.domain, world.pool))


def test_domain_create_defines_and_starts_it(world, domain, conn):
    live = conn.lookupByUUIDString(domain.id)
    assert (live.name(), live.isActive(), domain.outs["running"]) == (world.domain.name, 1, True), world.domain.name


def test_domain_reads_back_without_drift_and_diffs_clean(world, domain):
    read = providers.DomainProvider().read(domain.id, domain.outs)
    diff = providers.DomainProvider().diff(domain.id, read.outs, props.domain_props(world.domain, world.pool))
    assert (read.outs["drift"], diff.changes, diff.replaces) == ([], False, []), read.outs["drift"]


def test_domain_memory_change_is_redefined_in_place_and_waits_for_a_restart(world, domain, conn):
    bigger = props.domain_props(dataclasses.replace(world.domain, memory_mib=512), world.pool)
    diff = providers.DomainProvider().diff(domain.id, domain.outs, bigger)
    updated = providers.DomainProvider().update(domain.id, domain.outs, bigger)
    assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
    assert "memory: 268435456 -> 536870912 (takes effect after restart)" in updated.outs["pending_restart"]
    assert conn.lookupByUUIDString(domain.id).UUIDString() == domain.id, "redefinition made a new domain"
    assert updated.outs["live"]["memory"] == str(512 * 1024**2)


def test_domain_type_change_needs_a_new_domain(world, domain):
    kvm = props.domain_props(dataclasses.replace(world.domain, domain_type="kvm"), world.pool)
    diff = providers.DomainProvider().diff(domain.id, domain.outs, kvm)
    assert "xml" in diff.replaces, diff.__dict__


def test_domain_memory_edited_with_libvirt_shows_as_drift_on_refresh(world, domain, conn):
    libvirt = libvirt_module()
    conn.lookupByUUIDString(domain.id).setMemoryFlags(
        1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    read = providers.DomainProvider().read(domain.id, domain.outs)
    diff = providers.DomainProvider().diff(domain.id, read.outs, props.domain_props(world.domain, world.pool))
    assert "memory: declared 268435456, live 1073741824" in read.outs["drift"], read.outs["drift"]
    assert (diff.changes, diff.replaces) == (True, []), diff.__dict__


def test_domain_delete_destroys_and_undefines_it(world, domain, conn, ledger):
    providers.DomainProvider().delete(domain.id, domain.outs)
    ledger.forget(domain.id)
    assert world.domain.name not in [d.name() for d in conn.listAllDomains()]


def test_domain_deleted_out_of_band_reads_as_gone(domain, conn, ledger):
    providers.DomainProvider().delete(domain.id, domain.outs)
    ledger.forget(domain.id)
    assert providers.DomainProvider().read(domain.id, domain.outs).id is None


def test_domain_autostart_change_is_applied_by_an_update(world, domain, conn):
    autostarting = props.domain_props(dataclasses.replace(world.domain, autostart=True), world.pool)
    diff = providers.DomainProvider().diff(domain.id, domain.outs, autostarting)
    providers.DomainProvider().update(domain.id, domain.outs, autostarting)
    assert (diff.changes, diff.replaces) == (True, []), diff.__dict__
    assert conn.lookupByUUIDString(domain.id).autostart() == 1, world.domain.name


def test_volume_unprotect_is_recorded_so_a_later_delete_may_remove_it(world, pool, ledger, conn):
    guarded = dataclasses.replace(world.data, protect=True)
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(guarded, world.pool))
    released = props.volume_props(world.data, world.pool)
    assert providers.VolumeProvider().diff(volume.id, volume.outs, released).changes is True
    updated = providers.VolumeProvider().update(volume.id, volume.outs, released)
    providers.VolumeProvider().delete(volume.id, updated.outs)
    ledger.forget(volume.id)
    assert world.data.name not in conn.storagePoolLookupByName(world.pool.name).listVolumes()


def test_removing_one_router_node_keeps_the_other_nodes_ingress_record(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    first = ledger.create(providers.ReservationProvider(),
                          props.reservation_props(world.reservation, world.network, net.id))
    second_def = dataclasses.replace(world.reservation, node="node-1", hostname="node-1", mac="52:54:00:e7:5e:08",
                                     ip=world.reservation.ip + 1, fqdn="node-1.eaf-test.invalid",
                                     dns_names=("node-1.eaf-test.invalid", "ingress.eaf-test.invalid"))
    second = ledger.create(providers.ReservationProvider(), props.reservation_props(second_def, world.network, net.id))
    providers.ReservationProvider().delete(first.id, first.outs)
    ledger.forget(first.id)
    read = providers.ReservationProvider().read(second.id, second.outs)
    assert read.outs["live"]["dns"] == "node-1.eaf-test.invalid ingress.eaf-test.invalid", read.outs["live"]
    assert "10.98.7.20" not in conn.networkLookupByUUIDString(net.id).XMLDesc(0), "node-0's records left behind"


# --- an interrupted `up`: creates adopt what a cut-off create left, exactly as declared -------------------------------


def test_domain_defined_but_not_started_by_a_cut_off_create_is_adopted_and_started(world, conn, ledger):
    dom = conn.defineXML(props.domain_props(world.domain, world.pool)["xml"])
    adopted = ledger.create(providers.DomainProvider(), props.domain_props(world.domain, world.pool))
    assert adopted.id == dom.UUIDString() and conn.lookupByUUIDString(adopted.id).isActive(), world.domain.name
    assert adopted.outs["drift"] == [] and adopted.outs["running"] is True, adopted.outs


def test_domain_of_that_name_with_another_definition_is_refused(world, conn, ledger):
    other = dataclasses.replace(world.domain, memory_mib=world.domain.memory_mib * 2)
    dom = conn.defineXML(props.domain_props(other, world.pool)["xml"])
    try:
        with pytest.raises(LibvirtObjectError) as error:
            providers.DomainProvider().create(props.domain_props(world.domain, world.pool))
        assert "already exists" in str(error.value) and "memory: is 536870912, declared 268435456" in str(
            error.value), str(error.value)
    finally:
        dom.undefine()


def test_network_and_volume_left_by_a_cut_off_create_are_adopted(world, pool, conn, ledger):
    # A bridge network: the test driver drops a NAT network's dnsmasq options (qemu:///system keeps them).
    bridged = dataclasses.replace(world.network, mode="bridge", bridge="br-eaftest")
    net = conn.networkDefineXML(props.network_props(bridged)["xml"])  # defined, never started
    adopted = ledger.create(providers.NetworkProvider(), props.network_props(bridged))
    assert adopted.id == net.UUIDString() and net.isActive() and net.autostart(), world.network.name
    vol = conn.storagePoolLookupByName(world.pool.name).createXML(props.volume_props(world.data, world.pool)["xml"], 0)
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    assert volume.id == vol.key() and volume.outs["drift"] == [], volume.outs


def test_reservation_missing_its_dns_record_is_completed(world, ledger, conn):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    inputs = props.reservation_props(world.reservation, world.network, net.id)
    live = conn.networkLookupByUUIDString(net.id)
    libvirt = libvirt_module()
    live.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                inputs["dhcp_xml"], libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
    reservation = ledger.create(providers.ReservationProvider(), inputs)
    xml = live.XMLDesc(0)
    assert reservation.outs["drift"] == [] and xml.count("mac='52:54:00:e7:5e:07'") == 1, xml
    assert "<hostname>node-0.eaf-test.invalid</hostname>" in xml, xml


def test_reservation_with_that_mac_for_another_address_is_refused(world, ledger):
    net = ledger.create(providers.NetworkProvider(), props.network_props(world.network))
    ledger.create(providers.ReservationProvider(), props.reservation_props(world.reservation, world.network, net.id))
    moved = dataclasses.replace(world.reservation, ip=world.reservation.ip + 7)
    with pytest.raises(LibvirtObjectError, match="already exists .*dhcp: is '10.98.7.20 node-0'"):
        providers.ReservationProvider().create(props.reservation_props(moved, world.network, net.id))


# --- replacements: the new object first, unless libvirt keeps something they share unique ---------------------------


def test_renamed_domain_is_made_before_the_old_one_goes_unless_it_keeps_the_mac(world, domain):
    renamed = dataclasses.replace(world.domain, name=world.domain.name + "-b", mac="52:54:00:e7:5e:99")
    diff = providers.DomainProvider().diff(domain.id, domain.outs, props.domain_props(renamed, world.pool))
    assert ("name" in diff.replaces, diff.delete_before_replace) == (True, False), diff.__dict__
    same_mac = dataclasses.replace(world.domain, name=world.domain.name + "-b")
    diff = providers.DomainProvider().diff(domain.id, domain.outs, props.domain_props(same_mac, world.pool))
    assert diff.delete_before_replace is True, "two VMs with one MAC cannot run side by side"


def test_volume_with_a_new_name_is_made_first_one_with_the_same_name_after_the_old_goes(world, pool, ledger):
    volume = ledger.create(providers.VolumeProvider(), props.volume_props(world.data, world.pool))
    renamed = props.volume_props(dataclasses.replace(world.data, name="eaf-test-other.qcow2"), world.pool)
    rebased = props.volume_props(dataclasses.replace(world.data, backing=world.root.name), world.pool)
    assert providers.VolumeProvider().diff(volume.id, volume.outs, renamed).delete_before_replace is False
    assert providers.VolumeProvider().diff(volume.id, volume.outs, rebased).delete_before_replace is True

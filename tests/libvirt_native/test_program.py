"""The whole program under Pulumi mocks, with the native backend: what it registers per stack."""

from __future__ import annotations

import base64
from collections import Counter

import pytest

from infra.libvirt.native import providers
from tests.harness import run_stack
from tests.libvirt_native.support import STACKS, layouts, libvirt_objects
from tests.libvirt_native.support import provider_of as _provider


def _kinds(run) -> Counter:
    return Counter(type(_provider(r)).__name__ for r in libvirt_objects(run))


@pytest.mark.parametrize("stack", STACKS)
def test_every_libvirt_object_of_the_layout_is_registered_once(stack, stack_runs):
    expected = Counter()
    for layout in layouts(stack):
        expected.update({"PoolProvider": 1, "BaseImageProvider": 1, "NetworkProvider": 1,
                         "VolumeProvider": len(layout.volumes), "IgnitionProvider": len(layout.ignitions),
                         "ReservationProvider": len(layout.reservations), "DomainProvider": len(layout.domains)})
    assert _kinds(stack_runs(stack)) == +expected, stack


def test_local_stack_registers_seven_vms_with_a_reservation_each(stack_runs):
    kinds = _kinds(stack_runs("local"))
    assert (kinds["DomainProvider"], kinds["ReservationProvider"], kinds["NetworkProvider"]) == (7, 7, 1), kinds


def test_bridge_network_stacks_register_no_reservations(stack_runs):
    assert _kinds(stack_runs("dev"))["ReservationProvider"] == 0, "dev uses the site's bridge and its DHCP/DNS"


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_host_objects_are_children_of_their_hypervisor_and_node_objects_of_their_node(stack, stack_runs):
    run = stack_runs(stack)
    for resource in libvirt_objects(run):
        parent = run.by_urn(resource.parent)
        kind = type(_provider(resource)).__name__
        expected = "eaf:libvirt:HypervisorHost" if kind in (
            "PoolProvider", "BaseImageProvider", "NetworkProvider") else "eaf:libvirt:ClusterNode"
        assert parent.type == expected, f"{resource.urn} is a child of {parent.urn}"
        if expected == "eaf:libvirt:ClusterNode":
            assert resource.inputs["node"] == parent.name, resource.urn


@pytest.mark.parametrize("stack", ["prod-a", "prod-b"])
def test_prod_root_and_data_volumes_are_protected_in_pulumi_and_in_their_state(stack, stack_runs):
    volumes = [r for r in libvirt_objects(stack_runs(stack)) if isinstance(_provider(r), providers.VolumeProvider)]
    assert volumes, stack
    for volume in volumes:
        # The bootstrap node is disposable: its disk must not block its removal after the install.
        expected = volume.inputs["node"] != "bootstrap"
        assert volume.protect is expected and volume.inputs["protected"] is expected, volume.urn


def test_dev_volumes_are_not_protected(stack_runs):
    for resource in libvirt_objects(stack_runs("dev")):
        assert not resource.protect, resource.urn


def test_domain_waits_for_its_volumes_ignition_network_and_reservation(stack_runs):
    run = stack_runs("local")
    domain = run.named("localhost-domain-eaf-local-worker-0")
    names = {run.by_urn(urn).name for urn in domain.dependencies}
    assert {"localhost-volume-eaf-local-worker-0-root.qcow2", "localhost-ignition-eaf-local-worker-0.ign",
            "localhost-network-eaf-local", "localhost-reservation-worker-0"} <= names, names


def test_domain_input_is_the_rendered_xml_with_autostart_and_start(stack_runs):
    domain = stack_runs("prod-a").named("okd-proda-hv01-domain-eaf-prod-a-ctrl-0")
    assert domain.inputs["xml"].startswith("<domain type='kvm'>"), domain.urn
    assert (domain.inputs["autostart"], domain.inputs["start"]) == (True, True), "prod autostarts its VMs"


def test_bootstrap_vm_does_not_autostart(stack_runs):
    domain = stack_runs("prod-a").named("okd-proda-hv01-domain-eaf-prod-a-bootstrap")
    assert domain.inputs["autostart"] is False, domain.urn


def test_ignition_volume_carries_the_nodes_ignition_and_no_xml(stack_runs):
    ignition = stack_runs("local").named("localhost-ignition-eaf-local-ctrl-0.ign")
    assert ignition.inputs["content"].startswith("{"), ignition.urn
    assert "xml" not in ignition.inputs, "the Ignition volume's XML is sized from the content at create time"


def test_load_balancer_reservation_leaves_the_api_dns_record_to_the_network(stack_runs):
    run = stack_runs("local")
    assert "dns_xml" not in run.named("localhost-reservation-lb").inputs, "lb shares the api address"
    assert "10.77.0.20" in run.named("localhost-reservation-worker-0").inputs["dns_xml"]


def test_providers_are_pickled_by_reference_to_their_module(stack_runs):
    serialized = {r.inputs["__provider"] for r in libvirt_objects(stack_runs("dev"))}
    assert len(serialized) == 6, "one serialized form per provider kind, identical for every object of that kind"
    for text in serialized:
        raw = base64.b64decode(text)
        assert b"infra.libvirt.native.providers" in raw and len(raw) < 400, raw[:200]


def test_adding_a_worker_adds_only_that_workers_objects(stack_runs):
    before = {r.urn: r.inputs for r in libvirt_objects(stack_runs("local"))}
    grown = run_stack("local", overrides={"nodes": {"workers": {"count": 3}}})
    after = {r.urn: r.inputs for r in libvirt_objects(grown)}
    added = sorted(urn.rsplit("::", 1)[1] for urn in set(after) - set(before))
    assert added == ["localhost-domain-eaf-local-worker-2", "localhost-ignition-eaf-local-worker-2.ign",
                     "localhost-reservation-worker-2", "localhost-volume-eaf-local-worker-2-root.qcow2"], added
    assert set(before) <= set(after), "no object was removed"
    changed = [urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn]]
    # Only the load balancer's Ignition (its backend list names every worker) may change.
    assert changed in ([], ["localhost-ignition-eaf-local-lb.ign"]), f"objects of other nodes changed: {changed}"


# That an evaluation never imports libvirt (only the dynamic providers' process does) is proved with the program's
# other imports in tests/test_program_imports.py (one fresh interpreter for both).


KIND_OF_PROVIDER = {
    providers.PoolProvider: "Pool", providers.BaseImageProvider: "BaseImage", providers.NetworkProvider: "Network",
    providers.ReservationProvider: "Reservation", providers.VolumeProvider: "Volume",
    providers.IgnitionProvider: "Ignition", providers.DomainProvider: "Domain",
}


@pytest.mark.parametrize("stack", STACKS)
def test_each_libvirt_object_registers_under_its_kinds_own_type(stack, stack_runs):
    """A preview and the MR summary say `pulumi-python:dynamic/libvirt:Domain`, not Pulumi's generic dynamic type."""
    for resource in libvirt_objects(stack_runs(stack)):
        expected = f"pulumi-python:dynamic/libvirt:{KIND_OF_PROVIDER[type(_provider(resource))]}"
        assert resource.type == expected, f"{stack}: {resource.urn} carries a {type(_provider(resource)).__name__}"


def test_a_libvirt_object_is_never_registered_without_its_kind():
    from infra.libvirt.native.resources import LibvirtObject

    with pytest.raises(TypeError, match="through its kind"):
        LibvirtObject(providers.PoolProvider(), "pool", {})

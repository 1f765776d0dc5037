"""The pulumi-libvirt backend under mocks: what each stack registers, on which host's provider, with which inputs.

pulumi-libvirt's plugin cannot be installed here, so these runs are the only exercise this backend gets.
"""

from __future__ import annotations

import json

import pytest

from infra.libvirt.provider.backend import IGNITION_FWCFG_NAME, OVMF_CODE
from infra.libvirt.provider.xslt import pci_fields
from tests.harness import STACKS
from tests.libvirt_provider.support import (
    DOMAIN,
    IGNITION,
    LIBVIRT_TYPES,
    NETWORK,
    NODE,
    POOL,
    PROVIDER_TYPE,
    VOLUME,
    cached_provider_run,
    host_component,
    layouts,
    loaded,
    named,
    node_component,
    provider_urn,
)

VERIFIED_IMAGE = "pulumi-python:dynamic/libvirt:VerifiedImage"


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_registers_the_objects_its_layout_describes(stack):
    run = cached_provider_run(stack)
    hosts = layouts(stack)
    expected = {
        PROVIDER_TYPE: len(hosts),
        POOL: len(hosts),
        NETWORK: len(hosts),
        # one base image per host, plus every root and data volume
        VOLUME: len(hosts) + sum(len(h.volumes) for h in hosts),
        IGNITION: sum(len(h.ignitions) for h in hosts),
        DOMAIN: sum(len(h.domains) for h in hosts),
    }
    counts = run.types()
    assert {t: counts.get(t, 0) for t in expected} == expected, f"{stack}: registered {counts}"
    checks = [r for r in run.of_type(VERIFIED_IMAGE) if r.name.endswith("-sha256")]
    assert len(checks) == 1, f"{stack}: expected one image checksum step, found {[r.urn for r in checks]}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_libvirt_resource_uses_its_own_hosts_provider(stack):
    run = cached_provider_run(stack)
    providers = {r.name: r for r in run.of_type(PROVIDER_TYPE)}
    for resource in (r for r in run.resources if r.type in LIBVIRT_TYPES):
        host = host_component(run, resource)
        assert resource.provider, f"{resource.urn} uses the default provider"
        assert provider_urn(resource.provider) == providers[host.name].urn, (
            f"{resource.urn} (on {host.name}) uses {resource.provider}"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_each_hosts_provider_connects_to_that_hosts_uri(stack):
    run = cached_provider_run(stack)
    uris = {h.host: h.uri for h in layouts(stack)}
    providers = {r.name: r.inputs["uri"] for r in run.of_type(PROVIDER_TYPE)}
    assert providers == uris, f"{stack}: providers {providers}"


def test_domain_inputs_carry_the_planned_machine():
    run = cached_provider_run("dev")
    for host in layouts("dev"):
        for domain in host.domains:
            registered = named(run, "domain", host.host, domain.name).inputs
            wanted = {"name": domain.name, "type": "kvm", "vcpu": domain.vcpu, "memory": domain.memory_mib,
                      "autostart": False, "fwCfgName": IGNITION_FWCFG_NAME, "cpu": {"mode": "host-passthrough"}}
            assert {k: registered.get(k) for k in wanted} == wanted, f"dev {domain.name}: {registered}"
            assert registered["networkInterfaces"][0]["mac"] == domain.mac, f"dev {domain.name}"
            disks = [d["volumeId"] for d in registered["disks"]]
            assert disks == [f"{host.host}-volume-{v}-id" for v in (domain.root_volume, *domain.data_volumes)], (
                f"dev {domain.name}: disks {disks}"
            )
            ignition = f"{host.host}-ignition-{domain.ignition_volume}-id"
            assert registered["coreosIgnition"] == ignition, f"dev {domain.name}: {registered['coreosIgnition']}"


def test_uefi_domains_boot_ovmf_and_bios_domains_have_no_firmware():
    run = cached_provider_run("dev")
    firmware = {d.name: named(run, "domain", h.host, d.name).inputs.get("firmware") for h in layouts("dev")
                for d in h.domains}
    uefi = {d.name for h in layouts("dev") for d in h.domains if d.firmware == "uefi"}
    assert uefi == {"eaf-dev-gpu-0", "eaf-dev-gpu-1"}, f"dev UEFI domains: {uefi}"
    assert {n for n, f in firmware.items() if f == OVMF_CODE} == uefi, f"dev firmware: {firmware}"
    assert all(firmware[n] is None for n in firmware if n not in uefi), f"dev firmware: {firmware}"


def test_tcg_stack_asks_for_qemu_domains_without_host_cpu_passthrough():
    run = cached_provider_run("local")
    for domain in run.of_type(DOMAIN):
        assert domain.inputs["type"] == "qemu", f"local {domain.name}: type {domain.inputs['type']}"
        assert "cpu" not in domain.inputs, f"local {domain.name}: TCG cannot pass the host CPU through"


def test_local_domains_boot_the_probe_kernel_with_its_cmdline():
    run = cached_provider_run("local")
    domain = named(run, "domain", "localhost", "eaf-local-ctrl-0").inputs
    assert domain["kernel"].endswith(".work/probe/vmlinuz"), domain
    assert domain["initrd"].endswith(".work/probe/initrd.img"), domain
    assert domain["cmdlines"] == [{"_": "console=ttyS0,115200 quiet no_timer_check"}], domain


@pytest.mark.parametrize("stack", ["prod-a", "prod-b"])
def test_prod_domains_autostart(stack):
    run = cached_provider_run(stack)
    autostart = {d.inputs["name"]: d.inputs["autostart"] for d in run.of_type(DOMAIN)}
    bootstrap = f"eaf-{stack}-bootstrap"
    assert autostart.pop(bootstrap) is False, f"{stack}: the bootstrap VM must not come back after a host reboot"
    assert all(autostart.values()), f"{stack}: autostart {autostart}"


def test_every_domain_has_a_serial_console():
    run = cached_provider_run("dev")
    for domain in run.of_type(DOMAIN):
        assert domain.inputs["consoles"] == [{"type": "pty", "targetPort": "0", "targetType": "serial"}], (
            f"dev {domain.name}: consoles {domain.inputs['consoles']}"
        )


def test_each_node_gets_its_own_ignition_file_in_its_hosts_pool():
    run = cached_provider_run("dev")
    contents = {}
    for ignition in run.of_type(IGNITION):
        node = node_component(run, ignition)
        host = host_component(run, ignition)
        pool = next(h.pool.name for h in layouts("dev") if h.host == host.name)
        assert ignition.inputs["pool"] == pool, f"dev {ignition.urn}: pool {ignition.inputs['pool']}"
        assert ignition.inputs["name"] == f"eaf-dev-{node.name}.ign", f"dev {ignition.urn}"
        document = json.loads(ignition.inputs["content"])
        assert document["ignition"]["version"].startswith("3."), f"dev {ignition.urn}: {document['ignition']}"
        contents[node.name] = ignition.inputs["content"]
    assert contents["bootstrap"] != contents["ctrl-0"] != contents["worker-0"], "dev: roles share one Ignition"


def test_root_volumes_are_copy_on_write_over_their_hosts_base_image():
    run = cached_provider_run("dev")
    for host in layouts("dev"):
        base = named(run, "image", host.host, host.base_image.name)
        for volume in (v for v in host.volumes if v.kind == "root"):
            registered = named(run, "volume", host.host, volume.name).inputs
            assert registered["baseVolumeId"] == base.name + "-id", f"dev {volume.name}: {registered}"
            assert registered["size"] == volume.size_bytes and registered["format"] == "qcow2", registered
        for volume in (v for v in host.volumes if v.kind == "data"):
            registered = named(run, "volume", host.host, volume.name).inputs
            assert "baseVolumeId" not in registered, f"dev {volume.name}: a data disk starts empty"
            assert registered["size"] == volume.size_bytes, f"dev {volume.name}: {registered}"


def test_base_image_is_imported_from_the_checksum_verified_file():
    run = cached_provider_run("dev")
    check = next(r for r in run.of_type(VERIFIED_IMAGE) if r.name.endswith("-sha256"))
    assert check.inputs["sha256"], f"dev: the catalogue image must carry a pinned sha256: {check.inputs}"
    for host in layouts("dev"):
        base = named(run, "image", host.host, host.base_image.name)
        assert base.inputs["source"] == check.inputs["path"], f"dev {base.urn}: source {base.inputs['source']}"
        assert check.urn in base.dependencies, f"dev {base.urn} does not wait for the checksum step"
        assert "://" not in base.inputs["source"], f"dev {base.urn}: the provider must never download unchecked"
        # The catalogue's FCOS image is published as .qcow2.xz: the provider imports the decompressed file.
        assert check.inputs["source"].endswith(".qcow2.xz") and base.inputs["source"].endswith(".qcow2"), (
            f"dev {base.urn}: imports {base.inputs['source']}")


def test_base_images_ignore_where_their_file_came_from():
    """Running from another checkout (another absolute path) must not replace the base image and every root
    volume on top of it."""
    run = cached_provider_run("dev")
    for host in layouts("dev"):
        base = named(run, "image", host.host, host.base_image.name)
        assert base.ignore_changes == ("source",), f"dev {base.urn}: ignore_changes {base.ignore_changes}"


def test_bridge_network_leaves_dhcp_and_dns_to_the_site():
    run = cached_provider_run("dev")
    for network in run.of_type(NETWORK):
        inputs = network.inputs
        assert (inputs["mode"], inputs["bridge"]) == ("bridge", "br-okd"), f"dev {network.urn}: {inputs}"
        assert not {"dhcp", "dns", "xml", "addresses"} & set(inputs), f"dev {network.urn}: {sorted(inputs)}"


def test_nat_network_serves_okd_names_and_the_apps_wildcard():
    run = cached_provider_run("local")
    network = named(run, "network", "localhost", "eaf-local").inputs
    assert network["mode"] == "nat" and network["addresses"] == ["10.77.0.0/24"], network
    assert network["domain"] == "eaf-local.eaf.test", network
    hosts = {(h["hostname"], h["ip"]) for h in network["dns"]["hosts"]}
    assert hosts == {("api.eaf-local.eaf.test", "10.77.0.5"), ("api-int.eaf-local.eaf.test", "10.77.0.5")}, hosts
    assert network["dnsmasqOptions"]["options"] == [
        {"optionName": "address", "optionValue": "/apps.eaf-local.eaf.test/10.77.0.5"}
    ], network["dnsmasqOptions"]
    assert "<range start=\"10.77.0.2\" end=\"10.77.0.254\"/>" in network["xml"]["xslt"], network["xml"]["xslt"]


def test_nodes_on_a_nat_network_reserve_their_planned_lease_through_the_domain():
    run = cached_provider_run("local")
    plan = {n.domain_name: n for n in loaded("local").plan.nodes}
    for domain in run.of_type(DOMAIN):
        interface = domain.inputs["networkInterfaces"][0]
        node = plan[domain.inputs["name"]]
        assert interface["addresses"] == [str(node.ip)] and interface["hostname"] == node.hostname, (
            f"local {domain.name}: {interface}"
        )


def test_gpu_workers_carry_an_xslt_for_exactly_their_gpus():
    run = cached_provider_run("dev")
    for host in layouts("dev"):
        for domain in host.domains:
            xml = named(run, "domain", host.host, domain.name).inputs.get("xml")
            if not domain.gpus:
                assert xml is None, f"dev {domain.name} has no GPU but an XSLT"
                continue
            for address in domain.gpus:
                fields = pci_fields(address)
                assert f'bus="{fields.bus}" slot="{fields.slot}"' in xml["xslt"], f"dev {domain.name}: {address}"
            assert xml["xslt"].count("<hostdev ") == len(domain.gpus), f"dev {domain.name}"


@pytest.mark.parametrize("stack", ["prod-a", "prod-b"])
def test_prod_root_and_data_volumes_are_protected_except_the_disposable_bootstrap_disk(stack):
    run = cached_provider_run(stack)
    kinds = set()
    for host in layouts(stack):
        for volume in host.volumes:
            registered = named(run, "volume", host.host, volume.name)
            wanted = volume.node != "bootstrap"
            assert registered.protect is wanted, f"{stack} {registered.urn} ({volume.kind}): protect {not wanted}"
            kinds.add(volume.kind)
    assert kinds == {"root", "data"}, f"{stack}: volume kinds {kinds}"


def test_dev_volumes_can_be_deleted():
    run = cached_provider_run("dev")
    protected = [r.urn for r in run.of_type(VOLUME) if r.protect]
    assert protected == [], f"dev protects {protected}"


@pytest.mark.parametrize("stack", ["prod-a", "prod-b"])
def test_prod_domains_ignore_ignition_drift_and_dev_and_bootstrap_domains_do_not(stack):
    for name in (stack, "dev"):
        for domain in cached_provider_run(name).of_type(DOMAIN):
            kept = name == stack and domain.inputs["name"] != f"eaf-{stack}-bootstrap"
            wanted = ("coreosIgnition",) if kept else ()
            assert domain.ignore_changes == wanted, f"{name} {domain.urn}: ignore_changes {domain.ignore_changes}"


def test_named_libvirt_objects_are_deleted_before_their_replacement():
    run = cached_provider_run("dev")
    for resource in (r for r in run.resources if r.type in LIBVIRT_TYPES):
        assert resource.delete_before_replace, f"{resource.urn}: a replacement would collide with the old name"


def test_domains_wait_for_their_disks_ignition_and_network():
    run = cached_provider_run("dev")
    for domain in run.of_type(DOMAIN):
        node = node_component(run, domain)
        siblings = {r.urn for r in run.children_of(node.urn) if r.type in (VOLUME, IGNITION)}
        network = next(r.urn for r in run.of_type(NETWORK) if host_component(run, r).name == node.inputs["host"])
        missing = (siblings | {network}) - set(domain.dependencies)
        assert not missing, f"dev {domain.urn} does not depend on {missing}"


def test_every_node_is_a_component_holding_its_own_objects():
    run = cached_provider_run("dev")
    for node in run.of_type(NODE):
        kinds = sorted(r.type for r in run.children_of(node.urn))
        assert kinds.count(DOMAIN) == 1 and kinds.count(IGNITION) == 1 and kinds.count(VOLUME) >= 1, (
            f"dev {node.urn}: children {kinds}"
        )

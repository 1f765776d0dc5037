"""The XML the native backend renders says what the spec asks, for the stacks' real layouts."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from infra.libvirt.native import render
from infra.libvirt.pci import pci_fields
from infra.paths import PROJECT_DIR
from tests.libvirt_native.support import layouts

DNSMASQ = "{http://libvirt.org/schemas/network/dnsmasq/1.0}"


def _domains(stack):
    return [(layout, d) for layout in layouts(stack) for d in layout.domains]


def _domain_root(stack, node):
    layout, domain = next((lay, d) for lay, d in _domains(stack) if d.node == node)
    return ET.fromstring(render.domain_xml(domain, layout.pool)), domain, layout


def test_nat_network_answers_for_the_cluster_domain_only_locally():
    network = ET.fromstring(render.network_xml(layouts("local")[0].network))
    assert network.find("forward").get("mode") == "nat"
    assert network.find("domain").attrib == {"name": "eaf-local.eaf.test", "localOnly": "yes"}, "local network"


def test_nat_network_resolves_api_and_api_int_to_the_api_address():
    layout = layouts("local")[0]
    network = ET.fromstring(render.network_xml(layout.network))
    records = {h.get("ip"): [n.text for n in h.findall("hostname")] for h in network.findall("dns/host")}
    assert records == {"10.77.0.5": ["api.eaf-local.eaf.test", "api-int.eaf-local.eaf.test"]}, records


def test_nat_network_sends_every_apps_name_to_the_ingress_address_through_dnsmasq():
    network = ET.fromstring(render.network_xml(layouts("local")[0].network))
    options = [o.get("value") for o in network.findall(f"{DNSMASQ}options/{DNSMASQ}option")]
    assert options == ["address=/apps.eaf-local.eaf.test/10.77.0.5"], options


def test_nat_network_serves_dhcp_over_the_model_range_with_the_gateway_and_mtu():
    layout = layouts("local")[0]
    network = ET.fromstring(render.network_xml(layout.network))
    assert network.find("ip").attrib == {"address": "10.77.0.1", "prefix": "24"}
    assert network.find("ip/dhcp/range").attrib == {"start": str(layout.network.dhcp_first),
                                                    "end": str(layout.network.dhcp_last)}
    assert network.find("mtu").get("size") == str(layout.network.mtu)


def test_node_reservation_maps_mac_to_planned_ip_and_its_dns_names():
    reservation = next(r for r in layouts("local")[0].reservations if r.node == "worker-0")
    dhcp = ET.fromstring(render.reservation_dhcp_xml(reservation))
    dns = ET.fromstring(render.reservation_dns_xml(reservation))
    assert dhcp.attrib == {"mac": reservation.mac, "name": "worker-0", "ip": str(reservation.ip)}, "worker-0 dhcp"
    assert (dns.get("ip"), [h.text for h in dns]) == (
        str(reservation.ip), ["worker-0.eaf-local.eaf.test", "ingress.eaf-local.eaf.test"]), "worker-0 dns"


def test_bridge_network_only_names_the_host_bridge():
    for layout in layouts("dev"):
        network = ET.fromstring(render.network_xml(layout.network))
        assert [child.tag for child in network] == ["name", "forward", "bridge"], f"dev/{layout.host}"
        assert network.find("forward").get("mode") == "bridge"


def test_domain_type_is_the_stacks_domain_type():
    assert {_domain_root("local", d.node)[0].get("type") for _, d in _domains("local")} == {"qemu"}
    assert {_domain_root("dev", d.node)[0].get("type") for _, d in _domains("dev")} == {"kvm"}


def test_host_passthrough_cpu_only_on_kvm():
    local, _, _ = _domain_root("local", "worker-0")
    dev, _, _ = _domain_root("dev", "worker-0")
    assert local.find("cpu") is None, "TCG cannot pass the host CPU through"
    assert dev.find("cpu").get("mode") == "host-passthrough"


def test_uefi_firmware_exactly_where_the_plan_says_uefi():
    for layout, domain in _domains("dev"):
        os_element = ET.fromstring(render.domain_xml(domain, layout.pool)).find("os")
        assert (os_element.get("firmware") == "efi") == (domain.firmware == "uefi"), domain.name


def test_gpu_worker_gets_one_managed_pci_hostdev_per_assigned_gpu():
    root, domain, _ = _domain_root("dev", "gpu-0")
    hostdevs = root.findall("devices/hostdev")
    assert len(hostdevs) == len(domain.gpus) > 0, "gpu-0"
    assert {(h.get("mode"), h.get("type"), h.get("managed")) for h in hostdevs} == {("subsystem", "pci", "yes")}
    first = hostdevs[0].find("source/address").attrib
    assert first == {"domain": "0x0000", "bus": "0x17", "slot": "0x00", "function": "0x0"}, first


def test_node_without_gpus_has_no_hostdev():
    root, _, _ = _domain_root("dev", "worker-0")
    assert root.findall("devices/hostdev") == []


def test_ignition_reaches_the_guest_through_fw_cfg_from_its_own_volume():
    root, domain, layout = _domain_root("local", "ctrl-1")
    entries = root.findall("sysinfo[@type='fwcfg']/entry")
    expected = f"{layout.pool.path}/{domain.ignition_volume}"
    assert [(e.get("name"), e.get("file")) for e in entries] == [("opt/com.coreos/config", expected)]


def test_disks_are_virtio_root_first_then_data_disks():
    root, domain, layout = _domain_root("dev", "gpu-0")
    disks = [(d.find("source").get("file"), d.find("target").get("dev"), d.find("target").get("bus"))
             for d in root.findall("devices/disk")]
    names = (domain.root_volume, *domain.data_volumes)
    assert disks == [(f"{layout.pool.path}/{n}", f"vd{chr(97 + i)}", "virtio") for i, n in enumerate(names)]


def test_nic_is_virtio_with_the_deterministic_mac_on_the_cluster_network():
    root, domain, _ = _domain_root("local", "worker-1")
    nic = root.find("devices/interface")
    assert (nic.get("type"), nic.find("mac").get("address"), nic.find("source").get("network"),
            nic.find("model").get("type")) == ("network", domain.mac, "eaf-local", "virtio")


def test_serial_console_is_written_to_a_per_domain_log_file():
    root, domain, _ = _domain_root("local", "lb")
    serial = root.find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").get("path") == f"/var/log/libvirt/qemu/{domain.name}-serial.log"
    assert root.find("devices/console").get("type") == "file"


def test_direct_kernel_boot_when_the_image_brings_a_kernel():
    root, domain, _ = _domain_root("local", "ctrl-0")
    assert (root.findtext("os/kernel"), root.findtext("os/initrd"), root.findtext("os/cmdline")) == (
        domain.kernel, domain.initrd, domain.cmdline)
    dev, _, _ = _domain_root("dev", "ctrl-0")
    assert dev.find("os/kernel") is None and dev.find("os/boot").get("dev") == "hd"


def test_memory_and_vcpus_come_from_the_plan():
    root, domain, _ = _domain_root("dev", "ctrl-0")
    assert root.find("memory").attrib == {"unit": "KiB"}
    assert int(root.findtext("memory")) == domain.memory_mib * 1024
    assert int(root.findtext("vcpu")) == domain.vcpu


def test_root_volume_is_a_qcow2_overlay_on_the_base_image():
    layout = layouts("local")[0]
    volume = next(v for v in layout.volumes if v.kind == "root")
    element = ET.fromstring(render.volume_xml(volume, layout.pool))
    assert element.find("target/format").get("type") == "qcow2"
    assert element.findtext("backingStore/path") == f"{layout.pool.path}/{layout.base_image.name}"
    assert int(element.findtext("capacity")) == volume.size_bytes


def test_data_volume_has_no_backing_store():
    layout = next(lay for lay in layouts("dev") if any(v.kind == "data" for v in lay.volumes))
    volume = next(v for v in layout.volumes if v.kind == "data")
    assert ET.fromstring(render.volume_xml(volume, layout.pool)).find("backingStore") is None, volume.name


def test_values_are_xml_escaped():
    layout, domain = _domains("local")[0]
    tricky = dataclasses.replace(domain, cmdline="console=ttyS0 a=<b>&c='d'")
    root = ET.fromstring(render.domain_xml(tricky, layout.pool))
    assert root.findtext("os/cmdline") == "console=ttyS0 a=<b>&c='d'"


def _digest_in_fresh_process(hash_seed: str) -> str:
    code = ("import hashlib, json; from tests.libvirt_native.support import documents;"
            "print(hashlib.sha256(json.dumps({s: documents(s) for s in ('dev', 'local')}, sort_keys=True)"
            ".encode()).hexdigest())")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": hash_seed}, check=True, timeout=120)
    return result.stdout.strip()


def test_rendering_is_byte_identical_across_processes():
    assert _digest_in_fresh_process("1") == _digest_in_fresh_process("2"), "XML depends on hash order"


def test_bad_pci_address_is_reported_with_the_address():
    try:
        pci_fields("17:00.0")
    except ValueError as error:
        assert "17:00.0" in str(error)
    else:
        raise AssertionError("a PCI address without a domain part was accepted")

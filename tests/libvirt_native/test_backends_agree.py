"""Both libvirt backends describe the same machines: vCPU, memory, disks, MAC, Ignition, GPUs, firmware, boot.

The native backend's domain XML (this package) against the pulumi-libvirt backend's Domain arguments
(infra/libvirt/provider), both from whole-program runs under mocks. Under mocks a resource's id is
`<resource name>-id`, which is how a provider Domain's volume/Ignition references are resolved.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

import pytest

from tests.libvirt_native.support import libvirt_objects
from tests.libvirt_provider.support import cached_provider_run

STACKS = ("dev", "prod-a", "local")
MIB = 1024**2


def _native_domains(run) -> dict[str, ET.Element]:
    return {r.name: ET.fromstring(r.inputs["xml"]) for r in libvirt_objects(run) if "-domain-" in r.name}


def _by_id(run, resource_id: str):
    return run.named(resource_id.removesuffix("-id"))


def _xslt_gpus(domain) -> list[str]:
    xslt = (domain.inputs.get("xml") or {}).get("xslt") or "<none/>"
    return [_pci(a) for a in ET.fromstring(xslt).iter("address")]


def _pci(address) -> str:
    return ":".join(address.get(k) for k in ("domain", "bus", "slot")) + "." + address.get("function")


@pytest.fixture(scope="module")
def pairs(request):
    stack_runs = request.getfixturevalue("stack_runs")
    found = {}
    for stack in STACKS:
        native, provider = stack_runs(stack), cached_provider_run(stack)
        provider_domains = {r.name: r for r in provider.of_type("libvirt:index/domain:Domain")}
        natives = _native_domains(native)
        assert set(natives) == set(provider_domains), f"{stack}: the backends make different VMs"
        for name, xml in natives.items():
            found[(stack, name)] = (native, xml, provider, provider_domains[name])
    return found


def test_same_vcpus_memory_and_domain_type(pairs):
    for (stack, name), (_, xml, _, domain) in pairs.items():
        native = (int(xml.findtext("vcpu")), int(xml.findtext("memory")) * 1024, xml.get("type"))
        provider = (int(domain.inputs["vcpu"]), int(domain.inputs["memory"]) * MIB, domain.inputs["type"])
        assert native == provider, f"{stack}/{name}: native {native}, provider {provider}"


def test_same_mac_on_the_cluster_network(pairs):
    for (stack, name), (_, xml, provider_run, domain) in pairs.items():
        nic = domain.inputs["networkInterfaces"][0]
        network = _by_id(provider_run, nic["networkId"]).inputs["name"]
        native = (xml.find("devices/interface/mac").get("address"), xml.find("devices/interface/source").get("network"))
        assert native == (nic["mac"], network), f"{stack}/{name}"


def test_same_disks_in_the_same_order(pairs):
    for (stack, name), (_, xml, provider_run, domain) in pairs.items():
        native = [PurePosixPath(d.find("source").get("file")).name for d in xml.findall("devices/disk")]
        provider = [_by_id(provider_run, d["volumeId"]).inputs["name"] for d in domain.inputs["disks"]]
        assert native == provider, f"{stack}/{name}: native {native}, provider {provider}"


def test_same_ignition_file_and_content(pairs):
    for (stack, name), (native_run, xml, provider_run, domain) in pairs.items():
        native_file = PurePosixPath(xml.find("sysinfo/entry").get("file")).name
        provider_ignition = _by_id(provider_run, domain.inputs["coreosIgnition"])
        assert native_file == provider_ignition.inputs["name"], f"{stack}/{name}"
        host = name.split("-domain-")[0]
        native_ignition = native_run.named(f"{host}-ignition-{native_file}")
        assert native_ignition.inputs["content"] == provider_ignition.inputs["content"], f"{stack}/{name}"


def test_same_gpus_passed_through(pairs):
    for (stack, name), (_, xml, _, domain) in pairs.items():
        native = sorted(_pci(a) for a in xml.findall("devices/hostdev/source/address"))
        assert native == sorted(_xslt_gpus(domain)), f"{stack}/{name}"


def test_same_firmware_and_direct_kernel_boot(pairs):
    for (stack, name), (_, xml, _, domain) in pairs.items():
        native = (xml.find("os").get("firmware") == "efi", xml.findtext("os/kernel"), xml.findtext("os/initrd"))
        provider = (bool(domain.inputs.get("firmware")), domain.inputs.get("kernel"), domain.inputs.get("initrd"))
        assert native == provider, f"{stack}/{name}: native {native}, provider {provider}"


def test_same_autostart(pairs):
    for (stack, name), (native_run, _, _, domain) in pairs.items():
        assert native_run.named(name).inputs["autostart"] == domain.inputs["autostart"], f"{stack}/{name}"

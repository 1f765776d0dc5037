"""Both libvirt backends describe the same machines for the dev stack: vCPU, memory, disks (name, size, order,
copy-on-write), MAC, firmware, Ignition and passed-through GPUs.

What each backend registers is read back from the mock run: pulumi-libvirt's arguments for the provider backend,
the rendered libvirt XML in the native backend's dynamic-resource inputs (parsed with lxml).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import pytest
from lxml import etree

from infra.libvirt.provider.xslt import pci_fields
from tests.harness import StackRun, run_stack
from tests.libvirt_provider.support import DOMAIN, IGNITION, VOLUME, provider_run

LIBVIRT_TYPE_PREFIX = "pulumi-python:dynamic/libvirt:"
STACK = "dev"


@dataclass(frozen=True)
class Machine:
    vcpu: int
    memory_mib: int
    disks: tuple[tuple[str, int, bool], ...]  # (volume name, size in bytes, copy-on-write over the base image)
    mac: str
    uefi: bool
    ignition_file: str  # the volume the domain reads its Ignition from
    ignition: str  # its content
    gpus: tuple[tuple[str, str, str, str], ...]  # PCI (domain, bus, slot, function)


def _addresses(tree: etree._Element) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(
        (a.get("domain"), a.get("bus"), a.get("slot"), a.get("function"))
        for a in tree.xpath("//hostdev[@type='pci']/source/address")
    )


def _provider_machines(run: StackRun) -> dict[str, Machine]:
    by_id = {f"{r.name}-id": r for r in run.resources}  # the mocks give every resource the id "<name>-id"
    machines = {}
    for domain in run.of_type(DOMAIN):
        inputs = domain.inputs
        disks = []
        for disk in inputs["disks"]:
            volume = by_id[disk["volumeId"]]
            assert volume.type == VOLUME, f"{domain.urn}: disk {disk} is not a volume"
            disks.append((volume.inputs["name"], int(volume.inputs["size"]), "baseVolumeId" in volume.inputs))
        ignition = by_id[inputs["coreosIgnition"]]
        assert ignition.type == IGNITION, f"{domain.urn}: coreosIgnition is {ignition.urn}"
        xslt = inputs.get("xml", {}).get("xslt")
        machines[inputs["name"]] = Machine(
            vcpu=int(inputs["vcpu"]), memory_mib=int(inputs["memory"]), disks=tuple(disks),
            mac=inputs["networkInterfaces"][0]["mac"].lower(), uefi="firmware" in inputs,
            ignition_file=ignition.inputs["name"], ignition=ignition.inputs["content"],
            gpus=_addresses(etree.XML(xslt.encode())) if xslt else (),
        )
    return machines


def _native_machines(run: StackRun) -> dict[str, Machine]:
    dynamic = [r for r in run.resources if r.type.startswith(LIBVIRT_TYPE_PREFIX)]
    volumes = {}
    for resource in dynamic:
        xml = resource.inputs.get("xml")
        if isinstance(xml, str) and xml.lstrip().startswith("<volume"):
            tree = etree.XML(xml.encode())
            volumes[tree.findtext("name")] = (int(tree.findtext("capacity")), tree.find("backingStore") is not None)
    ignitions = {
        (r.inputs["host"], r.inputs["name"]): r.inputs["content"]
        for r in dynamic if "content" in r.inputs and "xml" not in r.inputs
    }
    machines = {}
    for resource in dynamic:
        xml = resource.inputs.get("xml")
        if not (isinstance(xml, str) and xml.lstrip().startswith("<domain")):
            continue
        tree = etree.XML(xml.encode())
        memory = tree.find("memory")
        factor = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[memory.get("unit", "KiB")]
        disks = []
        for source in tree.xpath("/domain/devices/disk[@device='disk']/source/@file"):
            name = PurePosixPath(source).name
            disks.append((name, *volumes[name]))
        fwcfg = tree.xpath("/domain/sysinfo[@type='fwcfg']/entry[@name='opt/com.coreos/config']/@file")
        ignition_file = PurePosixPath(fwcfg[0]).name if fwcfg else ""
        machines[tree.findtext("name")] = Machine(
            vcpu=int(tree.findtext("vcpu")), memory_mib=int(int(memory.text) * factor), disks=tuple(disks),
            mac=tree.xpath("/domain/devices/interface/mac/@address")[0].lower(),
            uefi=tree.xpath("/domain/os/@firmware") == ["efi"] or bool(tree.xpath("/domain/os/loader")),
            ignition_file=ignition_file, ignition=ignitions.get((resource.inputs["host"], ignition_file), ""),
            gpus=_addresses(tree),
        )
    return machines


@cache
def _both() -> tuple[dict[str, Machine], dict[str, Machine]]:
    provider = _provider_machines(provider_run(STACK))
    native = _native_machines(run_stack(STACK, overrides={"libvirt": {"backend": "native"}}))
    return provider, native


def test_both_backends_create_the_same_domains():
    provider, native = _both()
    assert provider, f"{STACK}: the provider backend registered no domain"
    assert sorted(native) == sorted(provider), f"{STACK}: native {sorted(native)} vs provider {sorted(provider)}"


@pytest.mark.parametrize("field", ["vcpu", "memory_mib", "disks", "mac", "uefi", "ignition_file", "ignition", "gpus"])
def test_both_backends_describe_each_machine_alike(field):
    provider, native = _both()
    differing = {
        name: (getattr(native[name], field), getattr(machine, field))
        for name, machine in provider.items()
        if name in native and getattr(native[name], field) != getattr(machine, field)
    }
    assert differing == {}, f"{STACK}: {field} differs (native, provider): {differing}"


def test_the_gpu_workers_pass_through_their_planned_devices_in_both():
    provider, native = _both()
    gpu = {name: m.gpus for name, m in provider.items() if m.gpus}

    def fields(*addresses: str) -> tuple[tuple[str, str, str, str], ...]:
        return tuple(tuple(vars(pci_fields(a)).values()) for a in addresses)

    assert gpu == {
        "eaf-dev-gpu-0": fields("0000:17:00.0", "0000:31:00.0", "0000:b1:00.0", "0000:ca:00.0"),
        "eaf-dev-gpu-1": fields("0000:17:00.0", "0000:31:00.0", "0000:b1:00.0"),
    }, f"{STACK}: provider GPUs {gpu}"
    assert {name: m.gpus for name, m in native.items() if m.gpus} == gpu, f"{STACK}: native GPUs differ"

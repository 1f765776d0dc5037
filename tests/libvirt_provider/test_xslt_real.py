"""The stylesheets pulumi-libvirt applies (`xml.xslt`), applied for real with lxml to the XML the provider would
generate, and the result validated with libvirt's own schemas (virt-xml-validate, Debian libvirt-clients)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from infra.libvirt.provider.xslt import gpu_passthrough_xslt, network_xslt, pci_fields
from tests.libvirt_provider.provider_xml import provider_domain_xml, provider_network_xml
from tests.libvirt_provider.support import layouts

pytestmark = pytest.mark.real


def _validator() -> str:
    found = shutil.which("virt-xml-validate")
    if found is None:
        pytest.fail("virt-xml-validate is missing: apt-get install libvirt-clients libxml2-utils "
                    "(scripts/install-system-packages.sh)")
    return found


def _validate(document: bytes, kind: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(document)
    result = subprocess.run([_validator(), str(path), kind], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{name}: virt-xml-validate {kind} failed:\n{result.stderr}\n{document.decode()}"


def _transform(stylesheet: str, document: bytes) -> bytes:
    transform = etree.XSLT(etree.XML(stylesheet.encode()))
    return etree.tostring(transform(etree.XML(document)), pretty_print=True)


def _gpu_domains(stack: str):
    return [(h, d) for h in layouts(stack) for d in h.domains if d.gpus]


def _hostdev_addresses(document: bytes) -> list[tuple[str, str, str, str]]:
    tree = etree.XML(document)
    return [
        (a.get("domain"), a.get("bus"), a.get("slot"), a.get("function"))
        for a in tree.xpath("/domain/devices/hostdev[@mode='subsystem'][@type='pci'][@managed='yes']/source/address")
    ]


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_gpu_xslt_output_is_valid_libvirt_domain_xml(stack, tmp_path):
    domains = _gpu_domains(stack)
    assert domains, f"{stack}: no GPU worker to test"
    for host, domain in domains:
        before = provider_domain_xml(domain, host.pool)
        _validate(before, "domain", tmp_path, f"{domain.name}-provider")  # the approximation itself is valid
        after = _transform(gpu_passthrough_xslt(domain), before)
        _validate(after, "domain", tmp_path, f"{domain.name}-with-gpus")


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_gpu_xslt_adds_exactly_the_planned_pci_devices(stack):
    for host, domain in _gpu_domains(stack):
        after = _transform(gpu_passthrough_xslt(domain), provider_domain_xml(domain, host.pool))
        wanted = [dataclasses.astuple(pci_fields(g)) for g in domain.gpus]
        assert _hostdev_addresses(after) == wanted, f"{stack} {domain.name}: {after.decode()}"
        assert len(etree.XML(after).xpath("//hostdev")) == len(domain.gpus), f"{stack} {domain.name}"


def test_gpu_xslt_keeps_everything_the_provider_generated():
    host, domain = _gpu_domains("dev")[0]
    before = provider_domain_xml(domain, host.pool)
    after = etree.XML(_transform(gpu_passthrough_xslt(domain), before))
    for hostdev in after.xpath("//hostdev"):
        hostdev.getparent().remove(hostdev)
    assert etree.tostring(after, method="c14n") == etree.tostring(etree.XML(before), method="c14n"), (
        f"dev {domain.name}: the stylesheet changed more than the hostdevs"
    )


def test_gpu_xslt_gives_the_same_hostdevs_as_the_native_domain_template():
    """Both backends pass the same devices through: the native template's <hostdev>s for the GPU node equal what
    the stylesheet adds to the same domain rendered without GPUs."""
    from infra.libvirt.native.render import domain_xml

    host, domain = _gpu_domains("dev")[0]
    native = domain_xml(domain, host.pool).encode()
    without = domain_xml(dataclasses.replace(domain, gpus=()), host.pool).encode()
    assert _hostdev_addresses(without) == [], f"dev {domain.name}: native rendered hostdevs without GPUs"
    patched = _transform(gpu_passthrough_xslt(domain), without)
    assert _hostdev_addresses(patched) == _hostdev_addresses(native), f"dev {domain.name}:\n{patched.decode()}"


def test_network_xslt_output_is_valid_and_sets_the_planned_gateway_and_range(tmp_path):
    host = layouts("local")[0]
    network = host.network
    before = provider_network_xml(network)
    _validate(before, "network", tmp_path, "local-network-provider")
    after = _transform(network_xslt(network), before)
    _validate(after, "network", tmp_path, "local-network")
    tree = etree.XML(after)
    assert tree.xpath("/network/ip/@address") == [str(network.gateway)], after.decode()
    assert [(r.get("start"), r.get("end")) for r in tree.xpath("/network/ip/dhcp/range")] == [
        (str(network.dhcp_first), str(network.dhcp_last))
    ], after.decode()


def test_network_xslt_places_static_reservations_of_the_model(tmp_path):
    host = layouts("local")[0]
    reserved = host.reservations[0]
    from infra.libvirt.model import DhcpHost

    network = dataclasses.replace(host.network, dhcp_hosts=(DhcpHost(reserved.mac, reserved.ip, reserved.hostname),))
    after = _transform(network_xslt(network), provider_network_xml(network))
    _validate(after, "network", tmp_path, "local-network-static")
    hosts = [(h.get("mac"), h.get("ip"), h.get("name")) for h in etree.XML(after).xpath("/network/ip/dhcp/host")]
    assert hosts == [(reserved.mac, str(reserved.ip), reserved.hostname)], after.decode()


def test_pci_address_fields_are_libvirt_hex():
    assert pci_fields("0000:b1:00.0") == pci_fields("0000:B1:00.0")
    assert dataclasses.astuple(pci_fields("0001:ca:1f.7")) == ("0x0001", "0xca", "0x1f", "0x7")


def test_malformed_pci_address_is_refused_with_the_expected_form():
    with pytest.raises(ValueError, match=r"not a PCI address \(DDDD:BB:SS.F\): '17:00.0'"):
        pci_fields("17:00.0")
    with pytest.raises(ValueError, match="out of range"):
        pci_fields("0000:17:20.0")


def test_plain_domains_and_bridge_networks_get_no_stylesheet():
    dev = layouts("dev")
    assert all(gpu_passthrough_xslt(d) is None for h in dev for d in h.domains if not d.gpus)
    assert all(network_xslt(h.network) is None for h in dev), "dev bridge networks need no stylesheet"


def test_libvirt_itself_accepts_the_patched_domain_and_keeps_its_hostdevs():
    """Beyond the schema: libvirt's own domain parser (the built-in test:///default driver, no daemon) defines the
    patched domain and reports the passed-through devices back."""
    try:
        import libvirt
    except ImportError:
        pytest.fail("libvirt-python is missing from the venv: scripts/setup-venv.sh (needs libvirt-dev, pkg-config)")
    connection = libvirt.open("test:///default")
    try:
        for host, domain in _gpu_domains("dev"):
            patched = _transform(gpu_passthrough_xslt(domain), provider_domain_xml(domain, host.pool))
            defined = connection.defineXML(patched.decode())
            try:
                described = defined.XMLDesc().encode()
            finally:
                defined.undefine()
            wanted = [dataclasses.astuple(pci_fields(g)) for g in domain.gpus]
            assert _hostdev_addresses(described) == wanted, f"dev {domain.name}: libvirt kept {described.decode()}"
    finally:
        connection.close()

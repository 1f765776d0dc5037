"""First boot without site DHCP (eaf:network.firstBoot: static): every node boots with kernel arguments for its
planned address, taken from the plan alone; both libvirt backends hand them to a directly booted kernel; what cannot
carry them is refused before anything is registered."""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Address

import pytest
from lxml import etree

from infra.libvirt.model import host_layouts
from infra.paths import PROJECT_DIR
from infra.plan.first_boot import FIRST_BOOT_INTERFACE, first_boot_kargs
from infra.plan.model import Role
from infra.spec.errors import ConfigError
from infra.spec.layering import deep_merge, read_stack_file
from infra.spec.load import LoadedStack, load_spec
from tests.harness import TEST_SECRETS, run_stack
from tests.libvirt_provider.support import DOMAIN, provider_run

# The probe image boots its kernel directly, as the local stack does (Pulumi.local.yaml).
PROBE_IMAGE = {"os": "probe", "path": ".work/probe/probe-base.qcow2", "checksumFile": ".work/probe/SHA256SUMS",
               "kernel": ".work/probe/vmlinuz", "initrd": ".work/probe/initrd.img",
               "cmdline": "console=ttyS0,115200 quiet"}
STATIC = {"network": {"firstBoot": "static"}, "osImage": PROBE_IMAGE}


def _load(stack: str, overrides: dict) -> LoadedStack:
    own = deep_merge({**read_stack_file(PROJECT_DIR, stack), **TEST_SECRETS}, overrides)
    return load_spec(stack, own, PROJECT_DIR, secret_keys=set(TEST_SECRETS))


@cache
def _dev_static() -> LoadedStack:
    return _load("dev", STATIC)


def _refused(stack: str, overrides: dict) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        _load(stack, overrides)
    return raised.value


def test_a_controller_gets_its_planned_address_gateway_mask_name_and_the_sites_resolvers():
    plan = _dev_static().plan
    node = plan.node("ctrl-0")
    assert first_boot_kargs(node, plan.network) == (
        f"ifname=eaf0:{node.mac}",
        f"ip={node.ip}::10.42.16.1:255.255.255.0:{node.fqdn}:eaf0:none",
        "nameserver=131.225.0.254",
        "nameserver=131.225.8.120",
        "rd.neednet=1",
    )


@pytest.mark.parametrize("role", [Role.LOAD_BALANCER, Role.BOOTSTRAP, Role.CONTROLLER, Role.WORKER, Role.GPU_WORKER])
def test_every_node_of_each_role_boots_with_its_own_planned_address_on_its_own_nic(role: Role):
    plan = _dev_static().plan
    nodes = plan.by_role(role)
    assert nodes, f"dev has no {role.value}"
    for node in nodes:
        kargs = first_boot_kargs(node, plan.network)
        fields = {arg.split("=", 1)[0]: arg.split("=", 1)[1] for arg in kargs if arg.startswith(("ip=", "ifname="))}
        assert fields["ifname"] == f"{FIRST_BOOT_INTERFACE}:{node.mac}", node.name
        address, peer, gateway, netmask, hostname, iface, method = fields["ip"].split(":")
        assert (IPv4Address(address), peer, IPv4Address(gateway), netmask, hostname, iface, method) == (
            node.ip, "", plan.network.gateway, "255.255.255.0", node.fqdn, FIRST_BOOT_INTERFACE, "none"), node.name
        assert [a for a in kargs if a.startswith("nameserver=")] == [
            f"nameserver={s}" for s in plan.network.node_dns_servers]


def test_a_jumbo_frame_network_gives_the_first_boot_its_mtu_too():
    plan = _load("dev", deep_merge(STATIC, {"network": {"mtu": 9000}})).plan
    node = plan.node("worker-0")
    assert f"ip={node.ip}::10.42.16.1:255.255.255.0:{node.fqdn}:eaf0:none:9000" in first_boot_kargs(node, plan.network)


def test_no_two_nodes_share_a_first_boot_address_or_nic():
    plan = _dev_static().plan
    ips = [next(a for a in first_boot_kargs(n, plan.network) if a.startswith("ip=")).split(":")[0] for n in plan.nodes]
    assert len(set(ips)) == len(plan.nodes)


def test_with_site_dhcp_a_node_boots_with_no_network_arguments():
    plan = _load("dev", {"osImage": PROBE_IMAGE}).plan
    assert plan.network.first_boot == "dhcp"
    assert all(first_boot_kargs(n, plan.network) == () for n in plan.nodes)


def test_a_directly_booted_kernel_gets_the_images_command_line_then_the_nodes_arguments():
    loaded = _dev_static()
    for layout in host_layouts(loaded.plan, loaded.os_image, "qemu", None, PROJECT_DIR):
        for domain in layout.domains:
            node = loaded.plan.node(domain.node)
            assert domain.cmdline == " ".join(("console=ttyS0,115200 quiet",
                                               *first_boot_kargs(node, loaded.plan.network)))


def test_the_same_plan_gives_the_same_arguments():
    first = _dev_static().plan
    again = _load("dev", STATIC).plan
    assert [first_boot_kargs(n, first.network) for n in first.nodes] == [
        first_boot_kargs(n, again.network) for n in again.nodes]


def test_both_backends_hand_every_domain_the_same_kernel_command_line():
    loaded = _dev_static()
    planned = {d.name: d.cmdline for layout in host_layouts(loaded.plan, loaded.os_image, "qemu", None, PROJECT_DIR)
               for d in layout.domains}
    provider = {r.inputs["name"]: r.inputs["cmdlines"][0]["_"] for r in provider_run("dev", STATIC).of_type(DOMAIN)}
    native = {}
    for resource in run_stack("dev", overrides={**STATIC, "libvirt": {"backend": "native"}}).resources:
        xml = resource.inputs.get("xml")
        if isinstance(xml, str) and xml.lstrip().startswith("<domain"):
            tree = etree.XML(xml.encode())
            native[tree.findtext("name")] = tree.findtext("os/cmdline")
    assert provider == planned
    assert native == planned


def test_a_libvirt_nat_network_serves_dhcp_itself_so_static_is_refused_there():
    error = _refused("local", {"network": {"firstBoot": "static"}})
    assert [p.path for p in error.problems] == ["eaf:network.firstBoot"]
    assert "mode: bridge" in str(error)


def test_a_disk_booted_image_cannot_carry_the_arguments_yet_so_static_is_refused_for_it():
    error = _refused("dev", {"network": {"firstBoot": "static"}})
    assert [p.path for p in error.problems] == ["eaf:network.firstBoot"]
    assert "ignition.firstboot" in str(error) and "firstBoot: dhcp" in str(error)


def test_an_unknown_first_boot_method_is_refused_with_the_choices():
    error = _refused("dev", {"network": {"firstBoot": "manual"}})
    assert [p.path for p in error.problems] == ["eaf:network.firstBoot"]
    assert "dhcp" in str(error) and "static" in str(error)

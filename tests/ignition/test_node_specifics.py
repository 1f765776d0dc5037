"""Every node's hostname, static network and SSH keys, read back from its config and compared to the plan."""

from __future__ import annotations

import json

import pytest

from ignition.node import keyfile_path
from ignition.render import render_node, render_stack
from infra.spec.errors import ConfigError
from infra.stages import ignition_input
from tests.harness import STACKS
from tests.ignition.decode import Decoded, keyfile
from tests.ignition.support import SSH_KEYS, install_off_configs, loaded_stack, okd_fixture_configs


def _decoded(stack: str) -> dict[str, Decoded]:
    configs = render_stack(ignition_input(loaded_stack(stack)), okd_fixture_configs(), SSH_KEYS)
    return {name: Decoded.of(text) for name, text in configs.items()}


@pytest.mark.parametrize("stack", STACKS)
def test_hostname_file_holds_the_planned_hostname(stack):
    plan = loaded_stack(stack).plan
    for name, config in _decoded(stack).items():
        assert config.file_text("/etc/hostname") == plan.node(name).hostname + "\n", f"{stack}/{name}"


@pytest.mark.parametrize("stack", STACKS)
def test_keyfile_gives_the_planned_address_prefix_gateway_mac_and_mtu(stack):
    plan = loaded_stack(stack).plan
    net = plan.network
    for name, config in _decoded(stack).items():
        node = plan.node(name)
        ini = keyfile(config.file_text(keyfile_path(net)))
        got = (ini["ipv4"]["method"], ini["ipv4"]["address1"], ini["ipv4"]["gateway"], ini["ethernet"]["mac-address"],
               ini["ethernet"]["mtu"], ini["ipv6"]["method"])
        want = ("manual", f"{node.ip}/{net.prefix_length}", str(net.gateway), node.mac, str(net.mtu), "disabled")
        assert got == want, f"{stack}/{name}: keyfile says {got}, plan says {want}"


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_bridge_network_nodes_use_the_site_dns_servers(stack):
    net = loaded_stack(stack).plan.network
    want = ";".join(str(s) for s in net.dns_servers) + ";"
    for name, config in _decoded(stack).items():
        ini = keyfile(config.file_text(keyfile_path(net)))
        assert ini["ipv4"]["dns"] == want, f"{stack}/{name}: dns {ini['ipv4']['dns']!r}, want {want!r}"


def test_nat_network_nodes_use_the_libvirt_gateway_as_dns():
    net = loaded_stack("local").plan.network
    for name, config in _decoded("local").items():
        ini = keyfile(config.file_text(keyfile_path(net)))
        assert ini["ipv4"]["dns"] == f"{net.gateway};", f"local/{name}: dns {ini['ipv4']['dns']!r}"


@pytest.mark.parametrize("stack", STACKS)
def test_keyfile_searches_the_cluster_domain(stack):
    net = loaded_stack(stack).plan.network
    for name, config in _decoded(stack).items():
        ini = keyfile(config.file_text(keyfile_path(net)))
        assert ini["ipv4"]["dns-search"] == f"{net.domain};", f"{stack}/{name}"


def test_keyfile_is_readable_by_root_only_as_networkmanager_requires():
    net = loaded_stack("dev").plan.network
    for name, config in _decoded("dev").items():
        entry = config.files()[keyfile_path(net)]
        assert (entry["mode"], entry["user"]["name"]) == (0o600, "root"), f"dev/{name}: {entry['mode']:o}"


def test_prod_mtu_reaches_the_keyfile():
    net = loaded_stack("prod-a").plan.network
    assert net.mtu == 9000, "prod baseline sets mtu 9000; this test relies on it"
    ini = keyfile(_decoded("prod-a")["ctrl-0"].file_text(keyfile_path(net)))
    assert ini["ethernet"]["mtu"] == "9000", "prod-a/ctrl-0"


@pytest.mark.parametrize("stack", STACKS)
def test_core_user_gets_the_stack_ssh_keys_on_every_node(stack):
    for name, config in _decoded(stack).items():
        keys = config.users()["core"]["sshAuthorizedKeys"]
        assert all(k in keys for k in SSH_KEYS), f"{stack}/{name}: core has {keys}"


def test_without_ssh_keys_no_user_entry_is_written():
    loaded = loaded_stack("local")
    config = Decoded.of(render_node(ignition_input(loaded), loaded.plan.node("ctrl-0"), install_off_configs(loaded),
                                    []))
    assert "passwd" not in config.document, "local/ctrl-0: an empty core entry would be noise"


def test_bridge_network_without_dns_servers_is_a_config_error_before_anything_renders():
    with pytest.raises(ConfigError) as caught:
        loaded_stack("dev", json.dumps({"network": {"dnsServers": []}}))
    assert "eaf:network.dnsServers" in str(caught.value) and "stack 'dev'" in str(caught.value), str(caught.value)

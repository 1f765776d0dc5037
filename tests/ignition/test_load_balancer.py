"""The load balancer(s): HAProxy from the pinned image, backends from the plan; a pair holds VIPs with keepalived."""

from __future__ import annotations

import json

import pytest

from ignition.load_balancer import UNIT_NAME
from ignition.render import render_node
from infra.catalog import versions
from infra.plan.model import Role
from infra.stages import ignition_input
from tests.ignition.decode import Decoded, haproxy_servers
from tests.ignition.support import SSH_KEYS, loaded_stack, okd_fixture_configs

API_SECTIONS = ("api-server-6443", "machine-config-server-22623")
INGRESS_SECTIONS = ("ingress-router-80", "ingress-router-443")


def _lb(stack: str, overrides: dict | None = None, index: int = 0) -> Decoded:
    loaded = loaded_stack(stack, json.dumps(overrides) if overrides else None)
    node = loaded.plan.by_role(Role.LOAD_BALANCER)[index]
    return Decoded.of(render_node(ignition_input(loaded), node, okd_fixture_configs(), SSH_KEYS))


def _servers(stack: str, overrides: dict | None = None) -> dict[str, list[tuple[str, str]]]:
    return haproxy_servers(_lb(stack, overrides).file_text("/etc/haproxy/haproxy.cfg"))


def _port(section: str) -> str:
    return section.rsplit("-", 1)[1]


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b", "local"])
def test_api_and_machine_config_go_to_bootstrap_and_controllers(stack):
    plan = loaded_stack(stack).plan
    servers = _servers(stack)
    planned = [plan.node("bootstrap"), *plan.by_role(Role.CONTROLLER)]
    for section in API_SECTIONS:
        want = [(n.name, f"{n.ip}:{_port(section)}") for n in planned]
        assert servers[section] == want, f"{stack}/lb {section}: {servers[section]} != {want}"


def _templates(stack: str, overrides: dict | None = None) -> dict[str, str]:
    """{listen section: the server-template line} of the balancer's haproxy.cfg."""
    found, section = {}, None
    for line in _lb(stack, overrides).file_text("/etc/haproxy/haproxy.cfg").splitlines():
        if line.startswith("listen "):
            section = line.split()[1]
        elif line.strip().startswith("server-template ") and section:
            found[section] = line.strip()
    return found


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b", "local"])
def test_ingress_backends_come_from_the_ingress_dns_name(stack):
    plan = loaded_stack(stack).plan
    templates = _templates(stack)
    for section in INGRESS_SECTIONS:
        words = templates[section].split()
        slots = plan.network.cidr.num_addresses - 2
        assert words[1:4] == ["ingress", f"1-{slots}", f"{plan.ingress_name}:{_port(section)}"], templates[section]
        assert "resolvers cluster" in templates[section] and "check port 1936" in templates[section]


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_the_balancer_resolves_through_the_nodes_dns(stack):
    loaded = loaded_stack(stack)
    config = _lb(stack).file_text("/etc/haproxy/haproxy.cfg")
    want = [str(s) for s in (loaded.plan.network.dns_servers or (loaded.plan.network.gateway,))]
    got = [line.split()[2].removesuffix(":53") for line in config.splitlines() if line.strip().startswith("nameserver")]
    assert got == want, f"{stack}/lb nameservers {got} != {want}"


def test_ingress_dns_name_lists_workers_or_controllers_when_there_are_none():
    with_workers = loaded_stack("local").plan
    assert [n.name for n in with_workers.ingress_nodes] == ["worker-0", "worker-1"]
    overrides = {"nodes": {"workers": {"count": 0}, "gpuWorkers": {"count": 0}}}
    without = loaded_stack("local", json.dumps(overrides)).plan
    assert [n.name for n in without.ingress_nodes] == ["ctrl-0", "ctrl-1", "ctrl-2"]


def test_changing_the_worker_count_does_not_change_the_balancers_ignition():
    """Otherwise adding a worker would replace the balancer VM (and cut the API off while it boots)."""
    two = loaded_stack("local")
    three = loaded_stack("local", json.dumps({"nodes": {"workers": {"count": 3}}}))
    for index, node in enumerate(two.plan.by_role(Role.LOAD_BALANCER)):
        assert render_node(ignition_input(two), node, okd_fixture_configs(), SSH_KEYS) == render_node(
            ignition_input(three), three.plan.by_role(Role.LOAD_BALANCER)[index], okd_fixture_configs(), SSH_KEYS)


def test_turning_the_bootstrap_node_off_does_not_change_the_balancers_ignition():
    """Otherwise the switch would replace the balancer VM in the middle of the install."""
    loaded_on = loaded_stack("dev")
    loaded_off = loaded_stack("dev", json.dumps({"nodes": {"bootstrap": {"enabled": False}}}))
    assert "bootstrap" not in [n.name for n in loaded_off.plan.nodes], "the override must remove the bootstrap node"
    for node in ("lb-0", "lb-1"):
        on = render_node(ignition_input(loaded_on), loaded_on.plan.node(node), okd_fixture_configs(), SSH_KEYS)
        off = render_node(ignition_input(loaded_off), loaded_off.plan.node(node), okd_fixture_configs(), SSH_KEYS)
        assert on == off, f"dev/{node}: the balancer's Ignition depends on the bootstrap switch"


def test_every_backend_is_health_checked():
    config = _lb("dev").file_text("/etc/haproxy/haproxy.cfg")
    servers = [line for line in config.splitlines() if line.strip().startswith(("server ", "server-template "))]
    unchecked = [line.strip() for line in servers if " check" not in line]
    assert servers and not unchecked, f"dev/lb: servers without health checks: {unchecked}"


def test_haproxy_runs_the_pinned_image_with_podman_as_an_enabled_unit():
    unit = _lb("dev").units()[UNIT_NAME]
    image = versions().images["haproxy"]
    exec_start = next(line for line in unit["contents"].splitlines() if line.startswith("ExecStart="))
    assert unit["enabled"] is True, "dev/lb: haproxy.service is not enabled"
    assert exec_start.startswith("ExecStart=/usr/bin/podman run ") and exec_start.endswith(f" {image}"), exec_start
    assert "--network host" in exec_start and "/etc/haproxy:/usr/local/etc/haproxy:ro" in exec_start, exec_start


def test_balancer_config_is_tcp_mode():
    config = _lb("dev").file_text("/etc/haproxy/haproxy.cfg")
    assert "\n    mode tcp\n" in config and "mode http" not in config, "dev/lb: not TCP mode"


def test_runtime_api_listens_where_the_okd_bring_up_disables_the_bootstrap_backend():
    loaded = loaded_stack("prod-b")
    config = _lb("prod-b").file_text("/etc/haproxy/haproxy.cfg")
    assert f"stats socket ipv4@{loaded.spec.okd.install.lb_runtime_api} level admin" in config
    assert loaded.spec.okd.install.lb_runtime_api.startswith("127.0.0.1:"), "admin socket must stay on loopback"


def test_at_a_hundred_workers_every_ingress_node_has_a_server_slot():
    from tests.support.scale import scaled

    overrides = scaled(100)
    plan = loaded_stack("prod-a", json.dumps(overrides)).plan
    (template,) = {t.split()[2] for t in _templates("prod-a", overrides).values()}
    assert int(template.split("-")[1]) >= len(plan.ingress_nodes) == 110, (template, len(plan.ingress_nodes))


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_the_two_balancers_run_on_different_hosts(stack):
    balancers = loaded_stack(stack).plan.by_role(Role.LOAD_BALANCER)
    assert [n.name for n in balancers] == ["lb-0", "lb-1"] and balancers[0].host != balancers[1].host, balancers


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_api_and_ingress_resolve_to_the_pairs_virtual_ips(stack):
    plan = loaded_stack(stack).plan
    net = plan.network
    balancer_ips = {n.ip for n in plan.by_role(Role.LOAD_BALANCER)}
    assert (net.api_ip, net.ingress_ip) == (net.cidr[3], net.cidr[4]), (net.api_ip, net.ingress_ip)
    assert not {net.api_ip, net.ingress_ip} & balancer_ips, "a VIP must not be a balancer's own address"


def test_each_vip_prefers_another_balancer_and_both_track_haproxy():
    first = _lb("dev", index=0).file_text("/etc/keepalived/keepalived.conf.in")
    second = _lb("dev", index=1).file_text("/etc/keepalived/keepalived.conf.in")

    def priorities(text: str) -> dict[str, int]:
        found, instance = {}, None
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["vrrp_instance"]:
                instance = words[1]
            elif words[:1] == ["priority"] and instance:
                found[instance] = int(words[1])
        return found

    assert priorities(first) == {"api": 150, "ingress": 100} and priorities(second) == {"api": 100, "ingress": 150}
    assert first.count("track_process {") == 2 == second.count("track_process {"), "both VIPs must follow HAProxy"


def test_the_pair_talks_unicast_to_each_other():
    plan = loaded_stack("dev").plan
    lb0, lb1 = plan.by_role(Role.LOAD_BALANCER)
    text = _lb("dev", index=0).file_text("/etc/keepalived/keepalived.conf.in")
    assert f"unicast_src_ip {lb0.ip}" in text and f"        {lb1.ip}\n" in text, text


def test_keepalived_runs_the_pinned_image_after_finding_its_interface():
    unit = _lb("dev").units()["keepalived.service"]["contents"]
    image = versions().images["keepalived"]
    assert f" {image} keepalived " in unit and "--network host" in unit and "NET_ADMIN" in unit, unit
    assert "ip -o -4 addr show to" in unit and "@INTERFACE@" in unit, "the interface is found at start"


def test_a_single_balancer_runs_no_keepalived():
    assert "keepalived.service" not in _lb("local").units()


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_no_balancer_updates_and_reboots_on_its_own(stack):
    for index in range(len(loaded_stack(stack).plan.by_role(Role.LOAD_BALANCER))):
        text = _lb(stack, index=index).file_text("/etc/zincati/config.d/90-eaf-no-auto-updates.toml")
        assert "[updates]\nenabled = false\n" in text, text

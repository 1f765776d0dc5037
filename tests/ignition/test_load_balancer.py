"""The load balancer: HAProxy from the pinned image, backends from the plan."""

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


def _lb(stack: str, overrides: dict | None = None) -> Decoded:
    loaded = loaded_stack(stack, json.dumps(overrides) if overrides else None)
    return Decoded.of(render_node(ignition_input(loaded), loaded.plan.node("lb"), okd_fixture_configs(), SSH_KEYS))


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
        assert words[1:4] == ["ingress", "1-64", f"{plan.ingress_name}:{_port(section)}"], templates[section]
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
    assert render_node(ignition_input(two), two.plan.node("lb"), okd_fixture_configs(), SSH_KEYS) == \
        render_node(ignition_input(three), three.plan.node("lb"), okd_fixture_configs(), SSH_KEYS)


def test_turning_the_bootstrap_node_off_does_not_change_the_balancers_ignition():
    """Otherwise the switch would replace the balancer VM in the middle of the install."""
    loaded_on = loaded_stack("dev")
    loaded_off = loaded_stack("dev", json.dumps({"nodes": {"bootstrap": {"enabled": False}}}))
    assert "bootstrap" not in [n.name for n in loaded_off.plan.nodes], "the override must remove the bootstrap node"
    on = render_node(ignition_input(loaded_on), loaded_on.plan.node("lb"), okd_fixture_configs(), SSH_KEYS)
    off = render_node(ignition_input(loaded_off), loaded_off.plan.node("lb"), okd_fixture_configs(), SSH_KEYS)
    assert on == off, "dev/lb: the balancer's Ignition depends on the bootstrap switch"


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

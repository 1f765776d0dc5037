"""The text files read back by the programs that will read them at boot: HAProxy, keepalived, chrony and
NetworkManager."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ignition.load_balancer import haproxy_config, keepalived_config
from ignition.node import chrony_config, network_keyfile
from infra.plan.model import Role
from infra.stages import ignition_input
from tests.harness import STACKS
from tests.ignition.decode import keyfile
from tests.ignition.support import loaded_stack

pytestmark = pytest.mark.real


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package}")
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_haproxy_accepts_the_balancer_config_without_warnings(stack, tmp_path):
    """Debian's HAProxy 2.6 checks it; the pinned image runs 2.8, which reads every 2.6 config."""
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(ignition_input(loaded_stack(stack))), encoding="utf-8")
    result = subprocess.run([_tool("haproxy", "haproxy"), "-c", "-f", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "WARNING" not in output, f"{stack}/lb haproxy.cfg: {output}"


@pytest.mark.parametrize("stack", STACKS)
def test_networkmanager_reads_every_keyfile_as_planned(stack):
    """`nmcli --offline` parses the keyfile with NetworkManager's own code and prints what it understood."""
    loaded = loaded_stack(stack)
    net = loaded.plan.network
    nmcli = _tool("nmcli", "network-manager")
    for node in loaded.plan.nodes:
        text = network_keyfile(node, net)
        result = subprocess.run([nmcli, "--offline", "connection", "modify", "connection.id", net.name], input=text,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, f"{stack}/{node.name}: NetworkManager refused the keyfile: {result.stderr}"
        understood = keyfile(result.stdout)
        got = (understood["ethernet"]["mac-address"].lower(), understood["ipv4"]["address1"].split(",")[0],
               understood["ipv4"]["method"])
        assert got == (node.mac, f"{node.ip}/{net.prefix_length}", "manual"), f"{stack}/{node.name}: {got}"


@pytest.fixture
def vrrp_namespace():
    """A network namespace with one up interface (a bridge: this kernel has no dummy driver). keepalived refuses
    loopback for VRRP and checks that the interface exists, so the check runs where the interface name is real."""
    name = f"eaf-kat-{os.getpid()}"
    ip = _tool("ip", "iproute2")
    subprocess.run([ip, "netns", "add", name], check=True, timeout=30)
    try:
        subprocess.run([ip, "-n", name, "link", "add", "eaf0", "type", "bridge"], check=True, timeout=30)
        subprocess.run([ip, "-n", name, "link", "set", "eaf0", "up"], check=True, timeout=30)
        yield [ip, "netns", "exec", name]
    finally:
        subprocess.run([ip, "netns", "delete", name], check=True, timeout=30)


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_keepalived_accepts_each_balancers_config(stack, tmp_path, vrrp_namespace):
    """keepalived --config-test, on the config as the unit writes it (the interface filled in)."""
    args = ignition_input(loaded_stack(stack))
    for node in args.plan.by_role(Role.LOAD_BALANCER):
        path = tmp_path / f"{node.name}.conf"
        path.write_text(keepalived_config(args, node).replace("@INTERFACE@", "eaf0"), encoding="utf-8")
        result = subprocess.run([*vrrp_namespace, _tool("keepalived", "keepalived"), "--config-test", "--use-file",
                                 str(path)], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, f"{stack}/{node.name} keepalived.conf: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("stack", ["dev", "prod-a"])
def test_chrony_reads_the_nodes_config_and_uses_the_sites_servers(stack, tmp_path):
    """chronyd -p parses the file with chrony's own code and prints the configuration it understood."""
    plan = loaded_stack(stack).plan
    path = tmp_path / "chrony.conf"
    path.write_text(chrony_config(plan.network), encoding="utf-8")
    result = subprocess.run([_tool("chronyd", "chrony"), "-p", "-f", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"{stack} chrony.conf: {result.stderr}"
    servers = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("server ")]
    assert servers == list(plan.network.ntp_servers), result.stdout

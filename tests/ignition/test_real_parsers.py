"""The text files read back by the programs that will read them at boot: HAProxy and NetworkManager."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ignition.load_balancer import haproxy_config
from ignition.node import network_keyfile
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

"""First boot without site DHCP, for real: a site bridge with no DHCP server at all, and the nodes still come up at
their planned addresses, from their first-boot kernel arguments alone (eaf:network.firstBoot: static).

The site: the bridge `eaf-fb-br0` with this machine as the gateway 10.89.0.1, and Debian's dnsmasq serving DNS only
(`python -m infra site-dnsmasq --no-dhcp` from the stack's outputs). The stack (tests/first_boot/stacks/eaf-fb.yaml):
bridge mode on qemu:///system, a load balancer and a single controller, TCG, the probe image booted directly with
the ifname=/ip=/nameserver= arguments on its command line. `pulumi up` -> each VM's probe line says its address came
from the ip= argument (no DHCP request is sent) and is the planned one, api/api-int/*.apps resolve through the site
DNS, the Ignition is its own -> each planned address answers ping from the gateway -> `destroy` leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.multihost.lab import SBIN_PATH, _stop_pid
from tests.multihost.project import make_project, missing_engine_or_probe

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACK = "eaf-fb"
CLUSTER = "eaf-fb"
BRIDGE = "eaf-fb-br0"
GATEWAY = "10.89.0.1/24"  # this machine on the site bridge: the nodes' gateway and DNS server
STACKS_DIR = Path(__file__).parent / "stacks"
HOSTS = [{"name": "localhost", "uri": "qemu:///system", "cpus": 2, "memoryGiB": 1,
          "pool": {"name": CLUSTER, "path": f"/var/lib/libvirt/{CLUSTER}", "capacityGiB": 4}}]
TIMINGS: dict[str, float] = {}


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{SBIN_PATH}:{os.environ.get('PATH', '')}"})
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
    return done


def _leftovers(connect) -> list[str]:
    conn = connect()
    try:
        found = [f"domain {d.name()}" for d in conn.listAllDomains() if d.name().startswith(CLUSTER + "-")]
        found += [f"network {n.name()}" for n in conn.listAllNetworks() if n.name() == CLUSTER]
        found += [f"pool {p.name()}" for p in conn.listAllStoragePools() if p.name() == CLUSTER]
        return found
    finally:
        conn.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The bridge, without any DHCP server on it; removed by name afterwards."""
    path = f"{SBIN_PATH}:{os.environ.get('PATH', '')}"
    missing = [t for t in ("ip", "dnsmasq", "busybox") if shutil.which(t, path=path) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: apt-get install -y iproute2 dnsmasq-base busybox-static "
                    "(or run .ci/run)")
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        pytest.fail(f"bridge {BRIDGE} exists already: another run of this tier is under way, or one was killed "
                    f"(remove it: ip link delete {BRIDGE})")
    _run("ip", "link", "add", "name", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    try:
        _run("ip", "address", "add", GATEWAY, "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        yield tmp_path_factory.mktemp("first-boot-site")
    finally:
        _run("ip", "link", "delete", BRIDGE, check=False)


@pytest.fixture(scope="module")
def stack(site, libvirt_system):
    problem = missing_engine_or_probe()
    if problem:
        pytest.fail(problem)
    (site / "project").mkdir()
    project = make_project(site / "project")
    project.write_stack(STACK, "eaf-fb", {"eaf:hosts": HOSTS}, stacks_dir=STACKS_DIR)
    project.pulumi(STACK, "stack", "init")
    dns = None
    try:
        project.pulumi(STACK, "up", "--yes", step="up (2 VMs)")
        dns = _serve_dns_only(project, site)
        yield project
    finally:
        if dns is not None:
            _stop_pid(dns.pid)
            dns.wait(timeout=10)
        project.pulumi(STACK, "destroy", "--yes", step="destroy", check=False)
        TIMINGS.update(project.timings)
        print("\nfirst-boot tier timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in TIMINGS.items()))


def _serve_dns_only(project, site: Path) -> subprocess.Popen:
    """The site's DNS from the stack's export, with no DHCP: what a site without reservations runs."""
    config = site / "dnsmasq.conf"
    project.infra("site-dnsmasq", str(project.outputs_file(STACK)), f"--subnet={GATEWAY}", "--no-dhcp",
                  f"--log-file={site / 'dnsmasq.log'}", f"--out={config}")
    text = config.read_text(encoding="utf-8")
    assert "dhcp-range" not in text and "dhcp-host" not in text, text
    _run("dnsmasq", "--test", f"--conf-file={config}")
    process = subprocess.Popen(["dnsmasq", "--keep-in-foreground", f"--conf-file={config}",
                                f"--pid-file={site / 'dnsmasq.pid'}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PATH": SBIN_PATH})
    deadline = time.monotonic() + 10
    while not (site / "dnsmasq.pid").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dnsmasq did not start (exit {process.poll()}): {text}")
        time.sleep(0.05)
    return process


def test_the_site_network_has_no_dhcp_server(stack, libvirt_system):
    conn = libvirt_system()
    try:
        xml = conn.networkLookupByName(CLUSTER).XMLDesc(0)
    finally:
        conn.close()
    assert "<dhcp" not in xml and f"<bridge name='{BRIDGE}'/>" in xml, xml


def test_every_vm_comes_up_at_its_planned_address_from_its_first_boot_arguments(stack):
    started = time.monotonic()
    done = stack.infra("local-report", "--stack", STACK, "--timeout", "420", check=False)
    TIMINGS["probe report"] = time.monotonic() - started
    assert done.returncode == 0 and "2 of 2 VMs match the plan" in done.stdout, done.stdout + done.stderr
    print(done.stdout)


def test_every_planned_address_answers_from_the_gateway(stack):
    records = json.loads(stack.outputs_file(STACK).read_text())["siteNetworkRecords"]
    addresses = sorted({entry["ip"] for entry in records["dhcp"]})
    assert len(addresses) == 2, records
    for address in addresses:
        done = _run("busybox", "ping", "-c", "3", "-W", "2", address, check=False)
        assert done.returncode == 0, f"{address} does not answer ping: {done.stdout}{done.stderr}"


def test_destroy_leaves_no_domain_volume_network_or_pool(stack, libvirt_system):
    stack.pulumi(STACK, "destroy", "--yes", step="destroy")
    assert _leftovers(libvirt_system) == []

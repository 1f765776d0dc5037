"""Boot the probe image for real (TCG under qemu:///system) and check what it reports.

One VM is booted per module: a throwaway NAT network with a cluster domain, DNS host records for
api/api-int, a dnsmasq wildcard for *.apps and a DHCP reservation; a dir pool with a qcow2
copy-on-write root volume over the probe base image; Ignition through fw_cfg; the serial console
to a file. The fixture waits for two EAF-PROBE lines, then presses the ACPI power button, and
removes everything it created (names start with eaf-probe-test-) even when something fails.
The minimal XML here is this test's own; the project's domain templates live elsewhere.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from tests.support.libvirtd import libvirt, libvirt_system  # noqa: F401

# Boots a real TCG VM under the system libvirtd: ~18 s for the module.
pytestmark = [pytest.mark.real, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-probe-image.sh"
PROBE_DIR = REPO_ROOT / ".work" / "probe"
LAST_CONSOLE = REPO_ROOT / ".work" / "probe-test" / "last-console.log"
# QEMU runs as libvirt-qemu and needs o+x on every parent; this tree is 0755 on Debian.
IMAGES_ROOT = Path("/var/lib/libvirt/images")
NAME_PREFIX = "eaf-probe-test-"
LINE_RE = re.compile(r"^EAF-PROBE (\{.*\})\s*$", re.MULTILINE)
PROBE_INTERVAL_SECONDS = 5
# Measured: ~15 s from create to the first line under TCG on 2 cores; generous for a loaded CI box.
FIRST_LINE_TIMEOUT_SECONDS = 240
SHUTDOWN_TIMEOUT_SECONDS = 60
EXPECTED_KEYS = {
    "v", "seq", "uptime_s", "kernel", "mac", "ip", "gateway", "dns_server", "domain", "domain_source",
    "hostname", "ip_source", "ignition_sha256", "ignition_bytes", "dns", "disk_sha256", "disk_marker", "disk_bytes",
    "errors",
}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What the VM should receive."""

    name: str
    bridge: str
    domain: str
    subnet: ipaddress.IPv4Network
    mac: str
    hostname: str
    node_ip: str
    api_ip: str
    apps_ip: str

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    def expected_dns(self) -> dict[str, str]:
        return {
            f"api.{self.domain}": self.api_ip,
            f"api-int.{self.domain}": self.api_ip,
            f"probe-check.apps.{self.domain}": self.apps_ip,
        }


@dataclass
class ProbeRun:
    plan: Plan
    ignition_sha256: str
    ignition_bytes: int
    manifest: dict
    lines: list[dict] = field(default_factory=list)
    first_line_seconds: float | None = None
    shutdown_seconds: float | None = None
    console: str = ""


def _used_networks(conn: libvirt.virConnect) -> list[ipaddress.IPv4Network]:
    """Host routes and every libvirt network's addresses: a new /24 must overlap none."""
    used = [ipaddress.ip_network("192.168.122.0/24")]
    routes = subprocess.run(
        ["ip", "-j", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    )
    for route in json.loads(routes.stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            used.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
    for net in conn.listAllNetworks():
        for addr, prefix in re.findall(r"<ip [^>]*address='([\d.]+)'[^>]*(?:netmask|prefix)='([\d.]+)'", net.XMLDesc()):
            used.append(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
    return used


def _pick_plan(conn: libvirt.virConnect) -> Plan:
    suffix = secrets.token_hex(3)
    used = _used_networks(conn)
    rng = random.SystemRandom()
    for _ in range(200):
        subnet = ipaddress.ip_network(f"10.{rng.randint(200, 254)}.{rng.randint(0, 255)}.0/24")
        if not any(subnet.overlaps(u) for u in used):
            break
    else:
        pytest.fail("no free 10.200-254.x.0/24 for the probe test network")
    base = subnet.network_address
    mac = "52:54:00:" + ":".join(f"{rng.randint(0, 255):02x}" for _ in range(3))
    return Plan(
        name=f"{NAME_PREFIX}{suffix}",
        bridge=f"eafpt{suffix}",  # Linux limits interface names to 15 characters
        domain=f"eaf-probe-{suffix}.test",
        subnet=subnet,
        mac=mac,
        hostname="probe-node-0",
        node_ip=str(base + 10),
        api_ip=str(base + 5),
        apps_ip=str(base + 6),
    )


def _network_xml(plan: Plan) -> str:
    gw = plan.gateway
    base = plan.subnet.network_address
    return f"""
<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>{plan.name}</name>
  <forward mode='nat'/>
  <bridge name='{plan.bridge}' stp='on' delay='0'/>
  <domain name='{plan.domain}' localOnly='yes'/>
  <dns>
    <host ip='{plan.api_ip}'>
      <hostname>api.{plan.domain}</hostname>
      <hostname>api-int.{plan.domain}</hostname>
    </host>
  </dns>
  <ip address='{gw}' netmask='255.255.255.0'>
    <dhcp>
      <range start='{base + 100}' end='{base + 200}'/>
      <host mac='{plan.mac}' name='{plan.hostname}' ip='{plan.node_ip}'/>
    </dhcp>
  </ip>
  <dnsmasq:options>
    <dnsmasq:option value='address=/apps.{plan.domain}/{plan.apps_ip}'/>
  </dnsmasq:options>
</network>"""


def _pool_xml(plan: Plan, path: Path) -> str:
    return f"""
<pool type='dir'>
  <name>{plan.name}</name>
  <target><path>{path}</path><permissions><mode>0755</mode></permissions></target>
</pool>"""


def _overlay_xml(name: str, base_path: Path, capacity_bytes: int) -> str:
    return f"""
<volume>
  <name>{name}</name>
  <capacity unit='bytes'>{capacity_bytes}</capacity>
  <target><format type='qcow2'/><permissions><mode>0644</mode></permissions></target>
  <backingStore><path>{base_path}</path><format type='qcow2'/></backingStore>
</volume>"""


def _domain_xml(
    plan: Plan, *, kernel: Path, initrd: Path, cmdline: str, disk: Path, ignition: Path, console: Path
) -> str:
    return f"""
<domain type='qemu'>
  <name>{plan.name}</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <sysinfo type='fwcfg'>
    <entry name='opt/com.coreos/config' file={quoteattr(str(ignition))}/>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file={quoteattr(str(disk))}/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='{plan.mac}'/>
      <source network='{plan.name}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path={quoteattr(str(console))}/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path={quoteattr(str(console))}/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>"""


def _ignition_config(plan: Plan) -> bytes:
    """A valid spec-3.2 config, unique per run, a few KB like a small real pointer config."""
    config = {
        "ignition": {"version": "3.2.0"},
        "storage": {
            "files": [
                {
                    "path": "/etc/hostname",
                    "mode": 420,
                    "contents": {"source": f"data:,{plan.hostname}"},
                },
                {
                    "path": "/etc/eaf-probe-nonce",
                    "mode": 420,
                    "contents": {"source": "data:," + secrets.token_hex(1024)},
                },
            ]
        },
    }
    return json.dumps(config, indent=2, sort_keys=True).encode()


def _build_probe_image() -> dict:
    result = subprocess.run(
        [str(BUILD_SCRIPT), str(PROBE_DIR)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{BUILD_SCRIPT} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}", pytrace=False)
    return json.loads((PROBE_DIR / "manifest.json").read_text())


def _read_lines(console: Path) -> tuple[str, list[dict]]:
    try:
        text = console.read_text(errors="replace")
    except FileNotFoundError:
        return "", []
    return text, [json.loads(m) for m in LINE_RE.findall(text.replace("\r", ""))]


def _wait(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def _cleanup(conn: libvirt.virConnect, plan: Plan, workdir: Path) -> list[str]:
    """Remove domain, network, volumes, pool and files; collect errors instead of stopping."""
    errors: list[str] = []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in (
                libvirt.VIR_ERR_NO_DOMAIN,
                libvirt.VIR_ERR_NO_NETWORK,
                libvirt.VIR_ERR_NO_STORAGE_POOL,
                libvirt.VIR_ERR_NO_STORAGE_VOL,
                libvirt.VIR_ERR_OPERATION_INVALID,  # already inactive
            ):
                errors.append(f"{what}: {exc}")
        except OSError as exc:
            errors.append(f"{what}: {exc}")

    attempt("destroy domain", lambda: conn.lookupByName(plan.name).destroy())
    attempt("undefine domain", lambda: conn.lookupByName(plan.name).undefine())
    attempt("destroy network", lambda: conn.networkLookupByName(plan.name).destroy())
    attempt("undefine network", lambda: conn.networkLookupByName(plan.name).undefine())
    for vol in ("root.qcow2", "base.qcow2"):  # the overlay first: it depends on the base
        attempt(
            f"delete volume {vol}",
            lambda v=vol: conn.storagePoolLookupByName(plan.name).storageVolLookupByName(v).delete(),
        )
    attempt("destroy pool", lambda: conn.storagePoolLookupByName(plan.name).destroy())
    attempt("undefine pool", lambda: conn.storagePoolLookupByName(plan.name).undefine())
    attempt("remove workdir", lambda: shutil.rmtree(workdir) if workdir.exists() else None)
    return errors


@pytest.fixture(scope="module")
def probe_run(libvirt_system: Callable[[], libvirt.virConnect]) -> Iterator[ProbeRun]:  # noqa: F811
    manifest = _build_probe_image()
    conn = libvirt_system()
    plan = _pick_plan(conn)
    workdir = IMAGES_ROOT / plan.name
    ignition_bytes = _ignition_config(plan)
    run = ProbeRun(
        plan=plan,
        ignition_sha256=hashlib.sha256(ignition_bytes).hexdigest(),
        ignition_bytes=len(ignition_bytes),
        manifest=manifest,
    )
    console = workdir / "console.log"
    cleanup_errors: list[str] = []
    try:
        workdir.mkdir(mode=0o755, parents=True)
        workdir.chmod(0o755)
        kernel = workdir / "vmlinuz"
        initrd = workdir / "initrd.img"
        shutil.copyfile(PROBE_DIR / "vmlinuz", kernel)
        shutil.copyfile(PROBE_DIR / "initrd.img", initrd)
        ignition = workdir / "node.ign"
        ignition.write_bytes(ignition_bytes)
        for path in (kernel, initrd, ignition):
            path.chmod(0o644)

        net = conn.networkDefineXML(_network_xml(plan))
        net.create()
        pool = conn.storagePoolDefineXML(_pool_xml(plan, workdir))
        pool.create()
        # Import the base image the way the stack does: a volume in the pool, the root disk a
        # copy-on-write overlay on it, bigger than the base like a real root volume.
        shutil.copyfile(PROBE_DIR / "probe-base.qcow2", workdir / "base.qcow2")
        pool.refresh()
        base = pool.storageVolLookupByName("base.qcow2")
        root = pool.createXML(_overlay_xml("root.qcow2", Path(base.path()), 64 * 1024 * 1024))

        cmdline = f"{manifest['cmdline']} eaf.probe_interval={PROBE_INTERVAL_SECONDS}"
        dom = conn.defineXML(
            _domain_xml(
                plan,
                kernel=kernel,
                initrd=initrd,
                cmdline=cmdline,
                disk=Path(root.path()),
                ignition=ignition,
                console=console,
            )
        )
        started = time.monotonic()
        dom.create()

        def have_lines(n: int) -> bool:
            run.console, run.lines = _read_lines(console)
            if run.lines and run.first_line_seconds is None:
                run.first_line_seconds = time.monotonic() - started
            return len(run.lines) >= n

        if not _wait(lambda: have_lines(1), FIRST_LINE_TIMEOUT_SECONDS):
            pytest.fail(
                f"no EAF-PROBE line within {FIRST_LINE_TIMEOUT_SECONDS}s; console:\n{run.console[-4000:]}",
                pytrace=False,
            )
        # The line repeats so that a late reader still finds it.
        _wait(lambda: have_lines(2), PROBE_INTERVAL_SECONDS * 4 + 10)

        pressed = time.monotonic()
        dom.shutdown()  # ACPI power button
        if _wait(lambda: not dom.isActive(), SHUTDOWN_TIMEOUT_SECONDS, interval=0.5):
            run.shutdown_seconds = time.monotonic() - pressed
        yield run
    finally:
        # Kept after cleanup so a failure can be read later.
        if console.exists():
            LAST_CONSOLE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(console, LAST_CONSOLE)
        cleanup_errors = _cleanup(conn, plan, workdir)
        conn.close()
    if cleanup_errors:
        pytest.fail("cleanup failed: " + "; ".join(cleanup_errors), pytrace=False)


def test_probe_line_is_json_with_every_key(probe_run: ProbeRun) -> None:
    assert set(probe_run.lines[0]) == EXPECTED_KEYS
    assert probe_run.lines[0]["v"] == 1


def test_probe_gets_the_reserved_dhcp_address(probe_run: ProbeRun) -> None:
    line = probe_run.lines[0]
    assert line["mac"] == probe_run.plan.mac
    assert line["ip"] == f"{probe_run.plan.node_ip}/24"
    assert line["gateway"] == probe_run.plan.gateway
    assert line["dns_server"] == probe_run.plan.gateway


def test_probe_gets_hostname_and_domain_from_dhcp(probe_run: ProbeRun) -> None:
    line = probe_run.lines[0]
    assert (line["hostname"], line["domain"], line["domain_source"]) == (
        probe_run.plan.hostname,
        probe_run.plan.domain,
        "dhcp",
    )


def test_cluster_dns_answers_the_planned_addresses(probe_run: ProbeRun) -> None:
    assert probe_run.lines[0]["dns"] == probe_run.plan.expected_dns()


def test_ignition_arrives_byte_exact(probe_run: ProbeRun) -> None:
    line = probe_run.lines[0]
    assert (line["ignition_sha256"], line["ignition_bytes"]) == (probe_run.ignition_sha256, probe_run.ignition_bytes)


def test_root_disk_is_an_overlay_of_the_base_image(probe_run: ProbeRun) -> None:
    line = probe_run.lines[0]
    disk = probe_run.manifest["disk"]
    assert (line["disk_sha256"], line["disk_marker"]) == (disk["head_sha256"], disk["marker"])


def test_probe_reports_no_errors(probe_run: ProbeRun) -> None:
    assert probe_run.lines[0]["errors"] == []


def test_probe_line_repeats(probe_run: ProbeRun) -> None:
    assert [line["seq"] for line in probe_run.lines[:2]] == [1, 2]


def test_first_probe_line_within_budget(probe_run: ProbeRun) -> None:
    print(f"\n[probe] first EAF-PROBE line {probe_run.first_line_seconds:.1f}s after create")
    assert probe_run.first_line_seconds is not None
    assert probe_run.first_line_seconds < 120


def test_acpi_power_button_powers_off(probe_run: ProbeRun) -> None:
    assert probe_run.shutdown_seconds is not None, f"still running {SHUTDOWN_TIMEOUT_SECONDS}s after shutdown"

"""The multi-host tier's site on this machine: three hypervisors reached over qemu+ssh, a site bridge, site DHCP/DNS.

Each hypervisor is its own mount namespace with its own libvirtd, virtlogd and sshd (scripts/multihost/hypervisor.sh):
its own /run, /etc/libvirt, /var/lib/libvirt (pools, images, domain state), /var/log/libvirt (serial logs) and
/var/cache/libvirt, so `qemu+ssh://root@127.0.0.1N:22NN/system` lands on that host's libvirtd and on nothing else.
The machine's own libvirtd (qemu:///system) is never touched. What the hosts share is the kernel: its network
namespace (the site bridge, the VMs' tap devices), cgroups and /dev, as VMs on one site VLAN share the wire.

ssh: keys are made per run (a client key, one host key per hypervisor); the URIs name a small ssh wrapper
(`?command=`) that uses this run's known_hosts with strict host-key checking, so nothing reads or writes ~/.ssh.

The site network: the bridge `eaf-mh-br0` carries one subnet per cluster of the tier, with this machine's address in
each (the gateway the stacks name, and the address the site DHCP/DNS stand-in listens on). The stand-in is Debian's
dnsmasq, configured only by `python -m infra site-dnsmasq` from the clusters' `siteNetworkRecords` outputs (and the
facility CNAMEs a migration writes), restarted when they change.

Everything is started and stopped by PID; `stop()` destroys whatever is left on the hosts (they are private to the
run), stops the daemons, checks that no process is left in their namespaces, removes the bridge and the run folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from pathlib import Path

from infra.paths import PROJECT_DIR

BRIDGE = "eaf-mh-br0"
# This machine's address on each cluster subnet of the tier (dev-shaped, prod-a-like, prod-b-like): the subnets'
# gateway, and where the site DHCP/DNS stand-in listens. Not 10.77/10.78 (the local stacks) nor 10.79.
SITE_SUBNETS = (IPv4Interface("10.86.0.1/24"), IPv4Interface("10.86.1.1/24"), IPv4Interface("10.86.2.1/24"))
# name, loopback address, sshd port: distinct addresses and ports, so no sshd of the machine is in the way.
HOSTS = (("hv01", "127.0.0.11", 2211), ("hv02", "127.0.0.12", 2212), ("hv03", "127.0.0.13", 2213))
HYPERVISOR_SCRIPT = PROJECT_DIR / "scripts" / "multihost" / "hypervisor.sh"
# libvirt's QEMU capability cache, kept between runs (~8 s of probing per host saved); it holds no run's state.
CAPABILITY_CACHE = PROJECT_DIR / ".work" / "multihost" / "libvirt-cache"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_REQUIRED = ("unshare", "sshd", "ssh", "ssh-keygen", "libvirtd", "virtlogd", "virsh", "dnsmasq", "ip",
             "qemu-system-x86_64")
_READY_SECONDS = 120


class LabError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    path = os.pathsep.join([os.environ.get("PATH", ""), SBIN_PATH])
    return [tool for tool in _REQUIRED if shutil.which(tool, path=path) is None]


def _run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PATH": f"{SBIN_PATH}:{os.environ.get('PATH', '')}"})
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
    return done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _mount_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def processes_in(namespace: str) -> list[int]:
    """Every process of the machine in mount namespace `namespace` (e.g. 'mnt:[4026532178]')."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mount_namespace(int(entry)) == namespace and _alive(int(entry)):
            found.append(int(entry))
    return sorted(found)


@dataclass
class Hypervisor:
    name: str
    address: str
    port: int
    root: Path  # this host's folders: etc/ lib/ log/ (its /etc/libvirt, /var/lib/libvirt, /var/log/libvirt)
    ssh_command: Path
    pids: dict[str, int] = field(default_factory=dict)
    namespace: str | None = None

    @property
    def uri(self) -> str:
        return f"qemu+ssh://root@{self.address}:{self.port}/system?command={self.ssh_command}"

    @property
    def serial_log_dir(self) -> Path:
        """Where this host's QEMU writes the serial logs (its /var/log/libvirt/qemu), as seen from here."""
        return self.root / "log" / "qemu"

    def virsh(self, commands: str, check: bool = True) -> str:
        """virsh commands (';'-separated) on this host's libvirtd, over its URI. virsh, not libvirt-python: the
        test process may run gRPC, whose fork handlers break libvirt's fork of ssh (see scripts/env.sh)."""
        return _run("virsh", "-q", "-c", self.uri, commands, check=check, timeout=120).stdout

    def _names(self) -> dict[str, list[str]]:
        listings = {"domain": "list --all --name", "network": "net-list --all --name",
                    "pool": "pool-list --all --name"}
        return {kind: self.virsh(command).split() for kind, command in listings.items()}

    def inventory(self) -> list[str]:
        """Every domain, network, pool and volume this host's libvirtd has (all of it the tier's: the host is
        private to the run)."""
        names = self._names()
        found = [f"{self.name}: {kind} {name}" for kind in ("domain", "network", "pool") for name in names[kind]]
        for pool in names["pool"]:
            volumes = self.virsh(f"vol-list {pool} --name", check=False)
            found += [f"{self.name}: volume {pool}/{v.strip()}" for v in volumes.splitlines() if v.strip()]
        return found

    def wipe(self) -> None:
        """Destroy and undefine everything on this host (after a failed test; a clean run leaves nothing)."""
        names = self._names()
        commands = [c for d in names["domain"] for c in (f"destroy {d}", f"undefine {d} --nvram")]
        commands += [c for n in names["network"] for c in (f"net-destroy {n}", f"net-undefine {n}")]
        for pool in names["pool"]:
            commands += [f"vol-delete {v} --pool {pool}"
                         for v in self.virsh(f"vol-list {pool} --name", check=False).split()]
            commands += [f"pool-destroy {pool}", f"pool-undefine {pool}"]
        for command in commands:  # one by one: a domain already off makes `destroy` fail, not the rest
            self.virsh(command, check=False)


def _wait_answers(host: Hypervisor, errors: dict[str, str]) -> None:
    deadline = time.monotonic() + _READY_SECONDS
    last = ""
    while time.monotonic() < deadline:
        done = _run("virsh", "-q", "-c", host.uri, "version", check=False, timeout=_READY_SECONDS)
        if done.returncode == 0:
            return
        last = done.stderr.strip()
        time.sleep(0.5)
    errors[host.name] = f"{host.uri} did not answer within {_READY_SECONDS} s: {last}"


@dataclass
class SiteDns:
    """dnsmasq as the site's DHCP/DNS, fed by `python -m infra site-dnsmasq` from siteNetworkRecords."""

    root: Path
    pid: int | None = None
    process: subprocess.Popen | None = None
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "site-dnsmasq.conf"

    def apply(self, outputs: list[Path], cname_zone: Path | None = None, dhcp: bool = True) -> str:
        """Regenerate the configuration from the stacks' outputs (`pulumi stack output --json` files) and
        (re)start dnsmasq on it. Returns the configuration text."""
        args = [sys.executable, "-m", "infra", "site-dnsmasq", *map(str, outputs),
                *(f"--subnet={s}" for s in SITE_SUBNETS), f"--lease-file={self.root / 'leases'}",
                f"--log-file={self.root / 'dnsmasq.log'}", f"--out={self.config}"]
        if cname_zone is not None:
            args.append(f"--cname-zone={cname_zone}")
        if not dhcp:
            args.append("--no-dhcp")
        done = subprocess.run(args, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise LabError(f"site-dnsmasq failed: {done.stdout}{done.stderr}")
        _run("dnsmasq", "--test", f"--conf-file={self.config}")
        self.stop()
        with open(self.root / "dnsmasq.stderr", "ab") as stderr:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", f"--conf-file={self.config}", f"--pid-file={self.root / 'pid'}"],
                stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "PATH": SBIN_PATH})
        self.pid = self.process.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (self.root / "pid").exists():
            if self.process.poll() is not None:
                raise LabError(f"dnsmasq exited {self.process.returncode}: "
                               f"{(self.root / 'dnsmasq.stderr').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        return self.config.read_text(encoding="utf-8")

    def stop(self) -> None:
        if self.process is not None:
            _stop_pid(self.process.pid)
            self.process.wait(timeout=10)
            self.process = None
            self.pid = None
            (self.root / "pid").unlink(missing_ok=True)

    def log(self) -> str:
        path = self.root / "dnsmasq.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Lab:
    """Start with `start()`, always end with `stop()` (which raises if anything was left behind)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hosts: list[Hypervisor] = []
        self.bridge_made = False
        self.dns = SiteDns(root / "site-dns")
        self.timings: dict[str, float] = {}

    # ---- ssh ------------------------------------------------------------------------------------------------------
    def _ssh_setup(self) -> Path:
        client = self.root / "client"
        client.mkdir(mode=0o700)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "eaf-mh-client", "-f", str(client / "id_ed25519"))
        config = client / "ssh_config"
        config.write_text(
            "Host *\n"
            f"  IdentityFile {client / 'id_ed25519'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {client / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n", encoding="utf-8")
        wrapper = client / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec ssh -F {config} "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        return wrapper

    def _host_dir(self, name: str, address: str, port: int, client: Path) -> Path:
        root = self.root / name
        (root / "etc").mkdir(parents=True)
        for conf in Path("/etc/libvirt").glob("*.conf"):  # the daemons' settings as packaged, nothing defined
            shutil.copy2(conf, root / "etc" / conf.name)
        # QEMU stays in this host's mount namespace (libvirt gives it a private one by default), so the teardown
        # finds every QEMU of the host there even when libvirtd could no longer be asked.
        with open(root / "etc" / "qemu.conf", "a", encoding="utf-8") as qemu_conf:
            qemu_conf.write("\nnamespaces = []\n")
        cache = CAPABILITY_CACHE / name
        cache.mkdir(parents=True, exist_ok=True)
        (root / "cache").symlink_to(cache)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"eaf-mh-{name}", "-f", str(root / "host_key"))
        shutil.copy2(client / "id_ed25519.pub", root / "authorized_keys")
        (root / "sshd_config").write_text(
            f"ListenAddress {address}:{port}\nHostKey {root / 'host_key'}\n"
            f"AuthorizedKeysFile {root / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            # Files of a throw-away run under the test's tmp folder: no home-directory permission rules apply.
            "UsePAM no\nStrictModes no\nX11Forwarding no\nAllowTcpForwarding no\nAllowAgentForwarding no\n"
            "PrintMotd no\nPermitUserEnvironment no\n", encoding="utf-8")
        host_key = (root / "host_key.pub").read_text().split()[:2]
        with open(client / "known_hosts", "a", encoding="utf-8") as known:
            known.write(f"[{address}]:{port} {' '.join(host_key)}\n")
        return root

    # ---- start / stop --------------------------------------------------------------------------------------------
    def start(self) -> None:
        started = time.monotonic()
        missing = missing_tools()
        if missing:
            raise LabError(f"missing {', '.join(missing)}: run scripts/install-system-packages.sh (openssh-server, "
                           "libvirt-daemon-system, dnsmasq-base, qemu-system-x86, iproute2)")
        if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
            raise LabError(f"bridge {BRIDGE} exists already: another run of this tier is under way, or one was "
                           f"killed; if none runs, remove it: ip link del {BRIDGE}")
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        wrapper = self._ssh_setup()
        for name, address, port in HOSTS:
            root = self._host_dir(name, address, port, wrapper.parent)
            host = Hypervisor(name, address, port, root, wrapper)
            self.hosts.append(host)
            done = _run("unshare", "--mount", "--propagation", "private", "--", "bash", str(HYPERVISOR_SCRIPT),
                        str(root), address, str(port))
            for line in done.stdout.splitlines():
                if line.startswith("pid "):
                    _, daemon, pid = line.split()
                    host.pids[daemon] = int(pid)
            host.namespace = _mount_namespace(host.pids["libvirtd"])
        self._make_bridge()
        errors: dict[str, str] = {}
        waiters = [threading.Thread(target=_wait_answers, args=(h, errors)) for h in self.hosts]
        for thread in waiters:
            thread.start()
        for thread in waiters:
            thread.join()
        if errors:
            raise LabError("hypervisors not answering: " + "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
        self.timings["lab start (3 hypervisors, bridge)"] = time.monotonic() - started

    def _make_bridge(self) -> None:
        _run("ip", "link", "add", "name", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        self.bridge_made = True
        for subnet in SITE_SUBNETS:
            _run("ip", "address", "add", str(subnet), "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")

    def describe(self, domain: str) -> str:
        """Where a VM is and what it printed last: for the message of a failed check."""
        lines = []
        for host in self.hosts:
            state = host.virsh(f"domstate {domain}", check=False).strip()
            log = host.serial_log_dir / f"{domain}-serial.log"
            if state or log.exists():
                tail = log.read_text(errors="replace")[-1200:] if log.exists() else "(no serial log)"
                lines.append(f"--- {domain} on {host.name}: {state or 'not defined'}\n{tail}")
        return "\n".join(lines) or f"--- {domain}: on no host"

    def describe_failed(self, report: str, cluster: str) -> str:
        """`describe` for every VM a report table marks FAIL (its domain name is <cluster>-<node>)."""
        failed = [line.split()[0] for line in report.splitlines() if line.rstrip().endswith("FAIL")]
        return "\n" + "\n".join(self.describe(f"{cluster}-{node}") for node in failed)

    def leftovers(self) -> list[str]:
        return [item for host in self.hosts for item in host.inventory()]

    def stop(self) -> list[str]:
        """Tear everything down; returns what had to be cleaned up forcibly (empty after a clean run) and raises
        if anything is still there afterwards."""
        forced: list[str] = []
        problems: list[str] = []
        self.dns.stop()
        for host in self.hosts:
            if host.pids.get("libvirtd") and _alive(host.pids["libvirtd"]):
                try:
                    left = host.inventory()
                    if left:
                        forced += left
                        host.wipe()
                except Exception as error:  # noqa: BLE001 - teardown must go on and report
                    problems.append(f"{host.name}: could not wipe: {error}")
            for daemon in ("sshd", "libvirtd", "virtlogd"):
                if daemon in host.pids:
                    _stop_pid(host.pids[daemon])
            if host.namespace:
                for pid in processes_in(host.namespace):  # QEMU left by a failed wipe, ssh sessions
                    forced.append(f"{host.name}: process {pid} ({Path(f'/proc/{pid}/comm').read_text().strip()})")
                    _stop_pid(pid, timeout=5)
                if processes_in(host.namespace):
                    problems.append(f"{host.name}: processes still in {host.namespace}")
        if self.bridge_made:
            taps = _run("ip", "-o", "link", "show", "master", BRIDGE, check=False).stdout.splitlines()
            if taps:
                problems.append(f"interfaces still on {BRIDGE}: {taps}")
            _run("ip", "link", "del", BRIDGE, check=False)
            if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
                problems.append(f"bridge {BRIDGE} still there")
        shutil.rmtree(self.root, ignore_errors=True)
        if self.root.exists():
            problems.append(f"{self.root} could not be removed")
        if problems:
            raise LabError("teardown left things behind: " + "; ".join(problems))
        return forced

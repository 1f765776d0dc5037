"""The one-node cluster's own network and mount namespaces, joined to this host by one veth pair.

A holder process (`unshare --mount --net ... sleep infinity`) owns both namespaces; every node process is
started inside them with `nsenter`, so the node's bridge, its pods' veths, kube-proxy's iptables rules and every
mount kubelet and containerd make (overlay snapshots, secret tmpfs, netns bind mounts) exist only there and
vanish with the last process. This host keeps its own iptables, routes and mount table untouched; the only thing
it sees is one veth (`eafkn<id>`) whose /30 connects it to the node address, through which the tests reach the
API server and NodePorts. The node netns has no default route: pods reach the node, the API server and each
other, nothing beyond this machine.

Inside the mount namespace fresh tmpfs mounts cover /run, /var/lib and /var/log: the paths kubelet, containerd,
runc and the CNI plugins hard-code (/run/containerd/runc, /var/lib/cni, /var/log/containers, /run/xtables.lock)
then exist only inside the node, and nothing is created on this host's file systems outside the work dir.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Host-side veth names are IFNAMSIZ-bounded (15 bytes): prefix + 8 hex digits.
VETH_PREFIX = "eafkn"
# The /30 for host <-> node is picked at random from here, avoiding every address and route this host has.
LINK_POOL = ipaddress.ip_network("172.30.0.0/16")
NODE_IFNAME = "eth0"
# Paths the node's programs hard-code, covered by a private tmpfs inside the node's mount namespace.
PRIVATE_TMPFS = ("/run", "/var/lib", "/var/log")
_KILL_WAIT_SECONDS = 15.0


class NodeNamespaceError(RuntimeError):
    """The node's namespaces could not be made, or not removed completely."""


@dataclass(frozen=True)
class NodeLink:
    host_ifname: str
    host_address: str  # this host's end of the /30
    node_address: str  # the node's address (kubelet's node IP, the API server's advertise address)
    prefix_len: int


def _run(argv: list[str], timeout: float = 30) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise NodeNamespaceError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _ns_inode(pid: int, kind: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _host_networks() -> list[ipaddress.IPv4Network]:
    taken: list[ipaddress.IPv4Network] = []
    for route in json.loads(_run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        dst = route.get("dst", "")
        if dst in ("", "default") or ":" in dst:
            continue
        try:
            taken.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
        except ValueError:
            continue
    for link in json.loads(_run(["ip", "-j", "-4", "addr", "show"]) or "[]"):
        for addr in link.get("addr_info", []):
            taken.append(ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    return taken


def pick_link_network(rng: random.Random, taken: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """A /30 of LINK_POOL that overlaps none of `taken`."""
    taken = list(taken)
    count = LINK_POOL.num_addresses // 4
    base = int(LINK_POOL.network_address)
    for _ in range(200):
        net = ipaddress.ip_network((base + 4 * rng.randrange(count), 30))
        if not any(net.overlaps(other) for other in taken):
            return net
    raise NodeNamespaceError(f"no free /30 in {LINK_POOL}: this host's routes and addresses cover it")


class NodeNamespaces:
    """Creates, enters and removes the node's namespaces; every process inside is found and stopped by PID."""

    def __init__(self, node_id: str) -> None:
        if len(VETH_PREFIX + node_id) > 15:
            raise ValueError(f"node_id={node_id!r}: the host veth name {VETH_PREFIX}{node_id} exceeds 15 bytes")
        self.node_id = node_id
        self.holder: subprocess.Popen | None = None
        self.link: NodeLink | None = None
        self._net_inode: int | None = None
        self._mnt_inode: int | None = None

    # -- life cycle -----------------------------------------------------------------------------------------------

    def create(self) -> NodeNamespaces:
        own_net = _ns_inode(os.getpid(), "net")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "--", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.holder.poll() is not None:
                raise NodeNamespaceError(f"unshare exited {self.holder.returncode}: {self.holder.stderr.read()!r}")
            inode = _ns_inode(self.holder.pid, "net")
            # Until unshare has exec'd sleep, the holder still shares this process's namespaces.
            if inode is not None and inode != own_net:
                break
            time.sleep(0.02)
        else:
            raise NodeNamespaceError("the holder process did not enter new namespaces within 10 s")
        self._net_inode = _ns_inode(self.holder.pid, "net")
        self._mnt_inode = _ns_inode(self.holder.pid, "mnt")
        for path in PRIVATE_TMPFS:
            _run(self.enter_argv(["mount", "-t", "tmpfs", "-o", "mode=0755", f"eaf-node-{self.node_id}", path]))
        _run(self.enter_argv(["ip", "link", "set", "lo", "up"]))
        self._connect()
        return self

    def _connect(self) -> None:
        net = pick_link_network(random.Random(self.node_id), _host_networks())
        host_ip, node_ip = list(net.hosts())
        host_if = f"{VETH_PREFIX}{self.node_id}"
        _run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", NODE_IFNAME, "netns", str(self.holder.pid)])
        self.link = NodeLink(host_if, str(host_ip), str(node_ip), net.prefixlen)
        _run(["ip", "addr", "add", f"{host_ip}/{net.prefixlen}", "dev", host_if])
        _run(["ip", "link", "set", host_if, "up"])
        _run(self.enter_argv(["ip", "addr", "add", f"{node_ip}/{net.prefixlen}", "dev", NODE_IFNAME]))
        _run(self.enter_argv(["ip", "link", "set", NODE_IFNAME, "up"]))

    def enter_argv(self, argv: list[str]) -> list[str]:
        """argv run inside the node's namespaces (nsenter execs it: the PID Popen reports is the program's)."""
        return [*self.launcher, *argv]

    @property
    def launcher(self) -> tuple[str, ...]:
        if self.holder is None:
            raise RuntimeError("NodeNamespaces are not created")
        return ("nsenter", f"--target={self.holder.pid}", "--mount", "--net", "--")

    def sysctl(self, name: str, value: str) -> None:
        """Set a per-network-namespace sysctl of the node (never this host's)."""
        _run(self.enter_argv(["sysctl", "-q", "-w", f"{name}={value}"]))

    def pids(self) -> list[int]:
        """Every process sharing the node's network or mount namespace, the holder included."""
        found = []
        for pid in _all_pids():
            if pid == os.getpid():
                continue
            net, mnt = _ns_inode(pid, "net"), _ns_inode(pid, "mnt")
            if (net is not None and net == self._net_inode) or (mnt is not None and mnt == self._mnt_inode):
                found.append(pid)
        return found

    def destroy(self) -> None:
        """Kill every process left in the namespaces, then the holder; the kernel removes netns, veth, mounts."""
        if self.holder is None:
            return
        for _ in range(3):
            others = [pid for pid in self.pids() if pid != self.holder.pid]
            if not others:
                break
            kill_and_wait(others)
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        if self.holder.stderr is not None:
            self.holder.stderr.close()
        leftovers = self.pids()
        if leftovers:
            raise NodeNamespaceError(f"processes still in the node's namespaces after teardown: {leftovers}")
        if self.link is not None:
            self._wait_link_gone(self.link.host_ifname)

    @staticmethod
    def _wait_link_gone(ifname: str) -> None:
        # The kernel tears a network namespace down asynchronously; its veth peers go with it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not Path(f"/sys/class/net/{ifname}").exists():
                return
            time.sleep(0.1)
        # Never left behind: delete it ourselves (it is ours by name and /30).
        subprocess.run(["ip", "link", "delete", ifname], capture_output=True, check=False)
        if Path(f"/sys/class/net/{ifname}").exists():
            raise NodeNamespaceError(f"host veth {ifname} still exists after its namespace was removed")

    # -- what the tests check -------------------------------------------------------------------------------------

    def leftovers(self) -> list[str]:
        """What would show that teardown left something behind (empty when clean)."""
        problems = []
        if self.pids():
            problems.append(f"processes in the node namespaces: {self.pids()}")
        if self.link is not None and Path(f"/sys/class/net/{self.link.host_ifname}").exists():
            problems.append(f"host veth {self.link.host_ifname}")
        return problems


def kill_and_wait(
    pids: Iterable[int], sig: signal.Signals = signal.SIGKILL, timeout: float = _KILL_WAIT_SECONDS
) -> None:
    """Signal each PID and wait until none of them exists any more (zombies of our own children are reaped)."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                reaped, _ = os.waitpid(pid, os.WNOHANG)
                if reaped == 0:
                    alive.append(pid)
            except ChildProcessError:
                # Not our child: it is gone once /proc says so (or it is a zombie of someone else's).
                if _is_running(pid):
                    alive.append(pid)
        if not alive:
            return
        pids = alive
        time.sleep(0.05)
    raise NodeNamespaceError(f"processes did not exit within {timeout:.0f}s after {sig.name}: {pids}")


def _is_running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"

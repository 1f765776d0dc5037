"""A libvirtd of a test's own, so the test may restart it without touching the machine's shared daemon.

It runs in a mount namespace (held open by a `sleep` process) in which /etc/libvirt, /run/libvirt,
/var/lib/libvirt and /var/cache/libvirt are directories of the test: its own configuration (the machine's *.conf
files, no domains, networks or pools), sockets, state and storage. Outside the namespace its socket is
`<root>/run/libvirt-sock`, reached with the URI `qemu:///system?socket=<root>/run/libvirt-sock`. It shares the
host's network (bridges, iptables chains: networks need unique names, bridges and subnets, as on the shared
daemon) and /var/log/libvirt (QEMU's and the serial logs are named per domain).

Every process is stopped by its PID (pid files in `<root>`), and `stop()` first removes whatever is still defined
in the daemon: everything in it is the test's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.libvirtd import libvirt, missing_binaries

_PRIVATE_DIRS = {"etc": "/etc/libvirt", "run": "/run/libvirt", "lib": "/var/lib/libvirt", "cache": "/var/cache/libvirt"}
_ANSWER_TIMEOUT_S = 180  # the first call probes QEMU's capabilities: ~8 s idle, much longer on a loaded machine


def _mount_namespace(pid: str) -> str | None:
    """'mnt:[<inode>]' of a process (or "self"); None once it is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


class PrivateLibvirtdError(RuntimeError):
    """The private daemon could not be started (the test fails with this, never skips)."""


class PrivateLibvirtd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._holder: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.root / 'run' / 'libvirt-sock'}"

    def connect(self):
        return libvirt.open(self.uri)

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        missing = missing_binaries() + [t for t in ("unshare", "nsenter") if shutil.which(t) is None]
        if libvirt is None or missing:
            raise PrivateLibvirtdError(f"missing {', '.join(missing) or 'libvirt-python'} (run .ci/run)")
        for name in _PRIVATE_DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
            (self.root / name).chmod(0o755)
        for conf in Path("/etc/libvirt").glob("*.conf"):
            shutil.copy2(conf, self.root / "etc" / conf.name)
        if Path("/etc/libvirt/nwfilter").is_dir():
            shutil.copytree("/etc/libvirt/nwfilter", self.root / "etc" / "nwfilter", dirs_exist_ok=True)
        self._holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "infinity"])
        deadline = time.monotonic() + 10
        # readlink, not resolve(): resolve() puts each process's own pid in the path, so the two never compared
        # equal, the wait ended at once, and a bind made before `unshare` had run landed in the machine's namespace
        # (a deleted test folder stayed mounted over /etc/libvirt, and libvirtd could no longer start).
        own = _mount_namespace("self")
        while _mount_namespace(str(self._holder.pid)) in (None, own):
            if self._holder.poll() is not None or time.monotonic() > deadline:
                raise PrivateLibvirtdError("unshare --mount did not make a mount namespace (needs root)")
            time.sleep(0.05)
        for name, target in _PRIVATE_DIRS.items():
            done = self._in_namespace("mount", "--bind", str(self.root / name), target)
            if done.returncode != 0:
                raise PrivateLibvirtdError(f"cannot bind {self.root / name} over {target}: {done.stderr}")
        self._daemon("virtlogd")
        self.start_libvirtd()

    def start_libvirtd(self) -> None:
        self._daemon("libvirtd")
        deadline = time.monotonic() + _ANSWER_TIMEOUT_S
        while True:
            try:
                conn = self.connect()
                conn.getVersion()
                conn.close()
                return
            except libvirt.libvirtError as error:
                if time.monotonic() > deadline:
                    raise PrivateLibvirtdError(f"private libvirtd does not answer on {self.uri}: {error}") from None
                time.sleep(0.5)

    def stop_libvirtd(self) -> None:
        """SIGTERM, as a service manager would: running VMs and their dnsmasq keep running."""
        self._stop_pid(self.root / "libvirtd.pid")

    def restart_libvirtd(self) -> None:
        self.stop_libvirtd()
        self.start_libvirtd()

    def stop(self) -> None:
        """Remove everything still defined, then stop the daemons and the namespace, each by its PID."""
        try:
            if self._pid(self.root / "libvirtd.pid"):
                self._remove_everything()
        finally:
            self._stop_pid(self.root / "libvirtd.pid")
            for pid_file in (*self.root.glob("run/qemu/*.pid"), *self.root.glob("run/network/*.pid")):
                self._stop_pid(pid_file)  # only left when removing them above failed
            self._stop_pid(self.root / "virtlogd.pid")
            if self._holder is not None:
                self._holder.kill()
                self._holder.wait(timeout=10)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _in_namespace(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", "-t", str(self._holder.pid), "-m", "--", *command], capture_output=True,
                              text=True, timeout=60, check=False)

    def _daemon(self, name: str) -> None:
        pid_file = self.root / f"{name}.pid"
        done = self._in_namespace(f"/usr/sbin/{name}", "-d", "-p", str(pid_file))
        deadline = time.monotonic() + 30
        while not self._pid(pid_file):
            if done.returncode != 0 or time.monotonic() > deadline:
                raise PrivateLibvirtdError(f"{name} did not start (exit {done.returncode}): {done.stderr}")
            time.sleep(0.1)

    @staticmethod
    def _pid(pid_file: Path) -> int | None:
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            return None

    def _stop_pid(self, pid_file: Path, timeout_s: float = 30) -> None:
        pid = self._pid(pid_file)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self._alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    def _remove_everything(self) -> None:
        conn = self.connect()
        try:
            for dom in conn.listAllDomains():
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            for net in conn.listAllNetworks():
                if net.isActive():
                    net.destroy()
                net.undefine()
            for pool in conn.listAllStoragePools():
                if not pool.isActive():
                    pool.create(0)
                for vol in pool.listAllVolumes():
                    vol.delete(0)
                pool.destroy()
                pool.delete(0)
                pool.undefine()
        finally:
            conn.close()

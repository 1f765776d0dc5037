"""An `up` cut off in the middle of creating the local stack's VMs is finished by the next one (real tier).

Runs on a private copy of the project (like tests/local_stack) with its own cluster name and CIDR, never on
eaf-local / 10.77.0.0/24:

  engine killed   cluster eaf-int, 10.79.0.0/24, on the machine's libvirtd (qemu:///system). `pulumi up` is sent
                  SIGINT once two VMs are defined, and SIGKILL half a second later, while creates are in flight;
                  the processes it started (language host, program, dynamic provider) die with it, as on a crash.
                  The state then holds pending creates and the stack lock. Resolution, as Pulumi documents it:
                  `pulumi cancel` (drops the lock of the dead update), `pulumi refresh --clear-pending-creates`
                  (drops the pending creates), `pulumi up`: the native providers adopt each object that exists with
                  exactly the declared definition (a domain not yet started is started, a reservation missing its
                  DNS record gets it), and make the rest.
  libvirtd restart  cluster eaf-int2, 10.79.2.0/24, on a libvirtd of the test's own (tests/support/
                  private_libvirtd.py), restarted while the VMs are being created; the next `up` finishes.

After each: every VM exists once and reports the plan (`infra local-report`), libvirt holds exactly the stack's
objects (no orphaned or duplicate domain, volume or reservation), a preview shows no change, and `destroy` leaves
nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.local_stack.engine import ProjectCopy, make_copy, missing_engine_or_probe
from tests.support.private_libvirtd import PrivateLibvirtd, PrivateLibvirtdError

pytestmark = [pytest.mark.real, pytest.mark.slow]

NODES = ("lb", "bootstrap", "ctrl-0", "ctrl-1", "ctrl-2", "worker-0", "worker-1")
UP_TIMEOUT_S = 1500
SIGKILL_AFTER_S = 0.5
REPORT_TIMEOUT_S = "600"
# The local stack's probe cmdline plus no_timer_check: on a heavily loaded host the guest kernel's IO-APIC timer
# check times out under TCG and panics; the check proves nothing about what these tests look at.
PROBE_CMDLINE = "console=ttyS0,115200 quiet no_timer_check"


@dataclass
class Scenario:
    cluster: str
    cidr: str
    uri: str
    project: ProjectCopy
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)

    def pulumi(self, name: str, *args: str) -> subprocess.CompletedProcess:
        started = time.monotonic()
        self.steps[name] = self.project.pulumi(*args, check=False)
        self.timings[name] = time.monotonic() - started
        return self.steps[name]

    def ok(self, name: str) -> subprocess.CompletedProcess:
        step = self.steps.get(name)
        assert step is not None, f"step {name!r} did not run; ran: {', '.join(self.steps)}"
        assert step.returncode == 0, f"{name} exited {step.returncode}\n{step.stdout[-5000:]}\n{step.stderr[-3000:]}"
        return step


def _project(tmp: Path, cluster: str, cidr: str, uri: str) -> Scenario:
    problem = missing_engine_or_probe()
    if problem:
        pytest.fail(problem, pytrace=False)
    project = make_copy(tmp)
    scenario = Scenario(cluster, cidr, uri, project)
    project.pulumi("stack", "init")
    for path, value in {"eaf:cluster.name": cluster, "eaf:network.cidr": cidr, "eaf:hosts[0].uri": uri,
                        "eaf:hosts[0].pool.name": cluster, "eaf:osImage.cmdline": PROBE_CMDLINE,
                        "eaf:hosts[0].pool.path": f"/var/lib/libvirt/{cluster}"}.items():
        project.pulumi("config", "set", "--path", path, value)
    return scenario


def _descendants(pid: int) -> list[int]:
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in children.read_text().split():
                found += [int(child), *_descendants(int(child))]
        except FileNotFoundError:
            continue
    return found


def _domains(connect: Callable, cluster: str) -> list[str]:
    conn = connect()
    try:
        return sorted(d.name() for d in conn.listAllDomains() if d.name().startswith(cluster + "-"))
    finally:
        conn.close()


def _up_until(scenario: Scenario, connect: Callable, at: Callable[[list[str]], bool]) -> tuple[subprocess.Popen, float]:
    """Start `pulumi up` and return once `at(domains)` holds (or the up ended)."""
    log = (scenario.project.root / "interrupted-up.log").open("w")
    started = time.monotonic()
    up = subprocess.Popen(["pulumi", "up", "--yes", "--stack", "local", "--non-interactive"],
                          cwd=scenario.project.root, env=scenario.project.env, stdout=log, stderr=subprocess.STDOUT)
    while up.poll() is None and not at(_domains(connect, scenario.cluster)):
        if time.monotonic() - started > UP_TIMEOUT_S:
            break
        time.sleep(0.1)
    return up, time.monotonic() - started


def _inventory(connect: Callable, cluster: str) -> dict[str, list[str]]:
    """Everything of the cluster in libvirt, by kind: domains, networks, pools, volumes, reservations."""
    conn = connect()
    try:
        found: dict[str, list[str]] = {
            "domains": sorted(d.name() for d in conn.listAllDomains() if d.name().startswith(cluster + "-")),
            "networks": sorted(n.name() for n in conn.listAllNetworks() if n.name() == cluster),
            "pools": [], "volumes": [], "dhcp hosts": [], "dns hosts": [],
        }
        for pool in conn.listAllStoragePools():
            if pool.name() == cluster:
                found["pools"].append(pool.name())
                if pool.isActive():
                    pool.refresh(0)
                    found["volumes"] = sorted(pool.listVolumes())
        for net in conn.listAllNetworks():
            if net.name() == cluster:
                from lxml import etree

                root = etree.fromstring(net.XMLDesc(0).encode())
                found["dhcp hosts"] = sorted(h.get("mac") for h in root.findall("ip/dhcp/host"))
                found["dns hosts"] = sorted(h.get("ip") for h in root.findall("dns/host"))
        return found
    finally:
        conn.close()


def _expected(cluster: str) -> dict[str, int]:
    return {"domains": len(NODES), "networks": 1, "pools": 1, "volumes": 2 * len(NODES) + 1,
            "dhcp hosts": len(NODES), "dns hosts": len(NODES)}  # the lb shares the api record: api + 6 nodes


def _finish_and_check(scenario: Scenario, connect: Callable) -> None:
    """The next `up`, then what the tests assert on: inventory, report, no-change preview, destroy, leftovers."""
    scenario.pulumi("finishing up", "up", "--yes")
    if scenario.steps["finishing up"].returncode == 0:
        scenario.notes["inventory"] = _inventory(connect, scenario.cluster)
        scenario.steps["report"] = scenario.project.run(
            "python", "-m", "infra", "local-report", "--stack", "local", "--timeout", REPORT_TIMEOUT_S, check=False)
        if scenario.steps["report"].returncode != 0:  # what the guests printed, before destroy removes it
            logs = Path("/var/log/libvirt/qemu").glob(f"{scenario.cluster}-*-serial.log")
            scenario.notes["consoles"] = {log.name: log.read_text(errors="replace")[-600:] for log in logs}
        scenario.pulumi("preview", "preview", "--expect-no-changes")
        exported = scenario.project.pulumi("stack", "export", check=False)
        scenario.notes["pending after"] = json.loads(exported.stdout)["deployment"].get("pending_operations", [])


def _destroy(scenario: Scenario, connect: Callable) -> None:
    if "destroy" in scenario.steps and scenario.steps["destroy"].returncode == 0:
        return
    scenario.pulumi("destroy", "destroy", "--yes")
    scenario.notes["left behind"] = {k: v for k, v in _inventory(connect, scenario.cluster).items() if v}
    for log in Path("/var/log/libvirt/qemu").glob(f"{scenario.cluster}-*.log"):
        log.unlink()
    print(f"\n{scenario.cluster} timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in scenario.timings.items()))


# --- the engine killed in the middle ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def killed(tmp_path_factory, libvirt_system) -> Iterator[Scenario]:
    scenario = _project(tmp_path_factory.mktemp("interrupt-kill"), "eaf-int", "10.79.0.0/24", "qemu:///system")
    try:
        up, elapsed = _up_until(scenario, libvirt_system, lambda domains: len(domains) >= 2)
        scenario.notes["domains when interrupted"] = _domains(libvirt_system, scenario.cluster)
        scenario.timings["up until interrupted"] = elapsed
        started = _descendants(up.pid)
        up.send_signal(signal.SIGINT)
        time.sleep(SIGKILL_AFTER_S)
        started = sorted(set(started + _descendants(up.pid)))
        up.kill()
        up.wait(timeout=60)
        for pid in started:  # what the engine started, now without it: gone as on a crash
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        scenario.notes["engine exit"] = up.returncode
        exported = scenario.project.pulumi("stack", "export", check=False)
        scenario.notes["pending"] = [(op["type"], op["resource"]["urn"].rsplit("::", 1)[1])
                                     for op in json.loads(exported.stdout)["deployment"].get("pending_operations", [])]
        scenario.pulumi("up while locked", "up", "--yes")
        scenario.pulumi("cancel", "cancel", "--yes")
        scenario.pulumi("refresh", "refresh", "--yes", "--clear-pending-creates")
        _finish_and_check(scenario, libvirt_system)
        _destroy(scenario, libvirt_system)
    finally:
        _destroy(scenario, libvirt_system)  # only if the one above did not run or failed
    yield scenario


def test_engine_was_killed_while_vms_were_being_created(killed):
    when = killed.notes["domains when interrupted"]
    assert killed.notes["engine exit"] == -signal.SIGKILL, killed.notes
    assert 2 <= len(when) < len(NODES), f"not in the middle of creating the VMs: {when}"
    assert any(kind == "creating" for kind, _ in killed.notes["pending"]), (
        f"the kill left no pending create, so this run proves nothing about them: {killed.notes['pending']}")


def test_the_next_up_is_refused_by_the_dead_updates_lock_until_pulumi_cancel(killed):
    locked = killed.steps["up while locked"]
    assert locked.returncode != 0 and "pulumi cancel" in locked.stdout + locked.stderr, locked.stdout[-2000:]
    killed.ok("cancel")


def test_refresh_clears_the_pending_creates_and_the_next_up_finishes(killed):
    killed.ok("refresh")
    killed.ok("finishing up")
    assert killed.notes["pending after"] == [], killed.notes["pending after"]


def test_every_vm_exists_once_and_nothing_else_is_left(killed):
    killed.ok("finishing up")
    inventory = killed.notes["inventory"]
    assert {k: len(v) for k, v in inventory.items()} == _expected(killed.cluster), inventory
    assert all(n == 1 for n in Counter(inventory["dhcp hosts"]).values()), inventory["dhcp hosts"]


def test_every_vm_reports_the_plan(killed):
    report = killed.steps["report"]
    assert report.returncode == 0 and f"{len(NODES)} of {len(NODES)} VMs match the plan" in report.stdout, (
        report.stdout[-4000:] + report.stderr[-2000:] + json.dumps(killed.notes.get("consoles"), indent=1))


def test_preview_after_the_recovery_shows_no_change(killed):
    killed.ok("preview")


def test_destroy_leaves_libvirt_clean(killed):
    killed.ok("destroy")
    assert killed.notes["left behind"] == {}, killed.notes["left behind"]


# --- libvirtd restarted in the middle -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_daemon(tmp_path_factory) -> Iterator[PrivateLibvirtd]:
    daemon = PrivateLibvirtd(tmp_path_factory.mktemp("libvirtd"))
    try:
        daemon.start()
    except PrivateLibvirtdError as error:
        daemon.stop()
        pytest.fail(f"private libvirtd unavailable: {error}", pytrace=False)
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def restarted(tmp_path_factory, private_daemon) -> Iterator[Scenario]:
    scenario = _project(tmp_path_factory.mktemp("interrupt-restart"), "eaf-int2", "10.79.2.0/24",
                        private_daemon.uri)
    try:
        up, elapsed = _up_until(scenario, private_daemon.connect, lambda domains: len(domains) >= 2)
        scenario.notes["domains when restarted"] = _domains(private_daemon.connect, scenario.cluster)
        scenario.timings["up until restart"] = elapsed
        started = time.monotonic()
        private_daemon.restart_libvirtd()
        scenario.timings["libvirtd restart"] = time.monotonic() - started
        up.wait(timeout=UP_TIMEOUT_S)
        scenario.notes["interrupted up exit"] = up.returncode
        scenario.notes["interrupted up output"] = (scenario.project.root / "interrupted-up.log").read_text()[-4000:]
        _finish_and_check(scenario, private_daemon.connect)
        _destroy(scenario, private_daemon.connect)
    finally:
        _destroy(scenario, private_daemon.connect)
    yield scenario


def test_libvirtd_was_restarted_while_vms_were_being_created(restarted):
    when = restarted.notes["domains when restarted"]
    assert 2 <= len(when) < len(NODES), f"not in the middle of creating the VMs: {when}"


def test_after_the_restart_the_next_up_finishes(restarted):
    restarted.ok("finishing up")
    assert restarted.notes["pending after"] == [], restarted.notes["pending after"]


def test_after_the_restart_every_vm_exists_once_and_nothing_else_is_left(restarted):
    restarted.ok("finishing up")
    inventory = restarted.notes["inventory"]
    assert {k: len(v) for k, v in inventory.items()} == _expected(restarted.cluster), inventory


def test_after_the_restart_every_vm_reports_the_plan(restarted):
    report = restarted.steps["report"]
    assert report.returncode == 0 and f"{len(NODES)} of {len(NODES)} VMs match the plan" in report.stdout, (
        report.stdout[-4000:] + report.stderr[-2000:] + json.dumps(restarted.notes.get("consoles"), indent=1))


def test_after_the_restart_preview_shows_no_change(restarted):
    restarted.ok("preview")


def test_after_the_restart_destroy_leaves_libvirt_clean(restarted):
    restarted.ok("destroy")
    assert restarted.notes["left behind"] == {}, restarted.notes["left behind"]

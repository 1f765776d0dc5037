"""The native providers through the real Pulumi engine (.tools/bin, scripts/bootstrap-engine.sh) on qemu:///system.

A throw-away project creates one probe node's objects (pool, NAT network, reservation, root volume, secret
Ignition, domain). The lifecycle runs once per module; each test checks one thing it recorded:
up -> preview --expect-no-changes -> memory edited with virsh -> refresh -> preview --diff names the element ->
up repairs it -> the root disk grows in place (an update, no replace) -> a smaller disk is refused by the preview
-> destroy leaves nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.paths import PROJECT_DIR
from tests.libvirt_native.fixtures import unique_prefix
from tests.support.engine import engine_env, missing_engine
from tests.support.libvirtd import LibvirtdUnavailableError, ensure_libvirtd

pytestmark = [pytest.mark.real, pytest.mark.slow]

PROBE = PROJECT_DIR / ".work" / "probe"
SECRET_MARKER = "eaf-native-engine-secret-marker"
STEP_TIMEOUT_S = 300

PROGRAM = """\
import dataclasses

import pulumi

from infra.libvirt.model import GIB
from infra.libvirt.native import props, providers
from infra.libvirt.native.resources import (LibvirtDomain, LibvirtIgnition, LibvirtNetwork, LibvirtPool,
                                            LibvirtReservation, LibvirtVolume)
from tests.libvirt_native.fixtures import objects

probe = {probe!r}
world = objects("qemu:///system", "/var/lib/libvirt", prefix={prefix!r}, subnet="10.98.10",
                kernel=(probe + "/vmlinuz", probe + "/initrd.img", "console=ttyS0,115200 quiet"))
world = dataclasses.replace(world, root=dataclasses.replace(
    world.root, size_bytes=(pulumi.Config().get_int("rootGiB") or 1) * GIB))
pool = LibvirtPool(providers.PoolProvider(), "pool", props.pool_props(world.pool))
net = LibvirtNetwork(providers.NetworkProvider(), "network", props.network_props(world.network))
reservation = LibvirtReservation(providers.ReservationProvider(), "reservation",
                            props.reservation_props(world.reservation, world.network, net.id),
                            pulumi.ResourceOptions(depends_on=[net]))
root = LibvirtVolume(providers.VolumeProvider(), "root", props.volume_props(world.root, world.pool),
                     pulumi.ResourceOptions(depends_on=[pool]))
content = pulumi.Output.secret('{{"ignition":{{"version":"3.2.0"}},"marker":"{secret}"}}')
ignition = LibvirtIgnition(providers.IgnitionProvider(), "ignition",
                         props.ignition_props(world.ignition, world.uri, content),
                         pulumi.ResourceOptions(depends_on=[pool], additional_secret_outputs=["content"]))
LibvirtDomain(providers.DomainProvider(), "domain", props.domain_props(world.domain, world.pool),
              pulumi.ResourceOptions(depends_on=[root, ignition, reservation]))
"""


@dataclass
class Lifecycle:
    prefix: str
    missing: str | None = None
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    state_text: str = ""
    left_behind: list[str] = field(default_factory=list)

    def step(self, name: str) -> subprocess.CompletedProcess:
        if self.missing:
            pytest.fail(self.missing, pytrace=False)
        if name not in self.steps:
            pytest.fail(f"step {name!r} did not run; ran: {', '.join(self.steps) or 'none'}", pytrace=False)
        return self.steps[name]


def _env(work: Path) -> dict[str, str]:
    return engine_env(work, "native-engine-test", import_project=True)


def _virsh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory) -> Lifecycle:
    result = Lifecycle(unique_prefix())
    result.missing = missing_engine()
    if result.missing:
        return result
    if not (PROBE / "vmlinuz").is_file():
        result.missing = f"probe image missing in {PROBE}: run scripts/build-probe-image.sh"
        return result
    try:
        ensure_libvirtd()
    except LibvirtdUnavailableError as error:
        result.missing = f"real libvirtd unavailable: {error}"
        return result
    work = tmp_path_factory.mktemp("native-engine")
    project = work / "project"
    project.mkdir()
    (work / "state").mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf-native-engine-test\nruntime: python\n")
    (project / "__main__.py").write_text(PROGRAM.format(probe=str(PROBE), prefix=result.prefix,
                                                        secret=SECRET_MARKER))
    env = _env(work)

    def run(name: str, *args: str) -> bool:
        result.steps[name] = subprocess.run(["pulumi", *args, "--stack", "t", "--non-interactive"], cwd=project,
                                            env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                                            check=False)
        return result.steps[name].returncode == 0

    try:
        if run("init", "stack", "init") and run("up", "up", "--yes"):
            run("preview unchanged", "preview", "--expect-no-changes")
            result.steps["memory edit"] = _virsh("setmaxmem", result.prefix, "524288", "--config")
            run("refresh", "refresh", "--yes")
            run("preview drift", "preview", "--diff")
            run("repair", "up", "--yes")
            run("preview repaired", "preview", "--expect-no-changes")
            run("config 2 GiB", "config", "set", "rootGiB", "2")
            run("grow", "up", "--yes", "--diff")
            run("config 1 GiB", "config", "set", "rootGiB", "1")
            run("preview shrink", "preview")
            result.state_text = next((work / "state").rglob("t.json")).read_text()
    finally:
        run("destroy", "destroy", "--yes")
        for kind in ("list", "net-list", "pool-list"):
            names = _virsh(kind, "--all", "--name").stdout.split()
            result.left_behind += [f"{kind}: {n}" for n in names if n.startswith(result.prefix)]
        for log in Path("/var/log/libvirt/qemu").glob(f"{result.prefix}*.log"):
            log.unlink()
        shutil.rmtree(work / "home", ignore_errors=True)
    return result


def _ok(lifecycle: Lifecycle, name: str) -> subprocess.CompletedProcess:
    step = lifecycle.step(name)
    assert step.returncode == 0, f"{name} exited {step.returncode}:\n{step.stdout[-6000:]}\n{step.stderr[-3000:]}"
    return step


def test_up_creates_every_object(lifecycle):
    assert "+ 7 created" in _ok(lifecycle, "up").stdout, lifecycle.step("up").stdout[-2000:]


def test_preview_after_up_has_no_changes(lifecycle):
    _ok(lifecycle, "preview unchanged")


def test_refresh_finds_memory_edited_with_virsh(lifecycle):
    assert lifecycle.step("memory edit").returncode == 0, lifecycle.step("memory edit").stderr
    assert "~ 1 updated" in _ok(lifecycle, "refresh").stdout, lifecycle.step("refresh").stdout[-2000:]


def test_preview_after_refresh_names_the_drifted_element(lifecycle):
    out = _ok(lifecycle, "preview drift").stdout
    assert '~ memory' in out and '"536870912" => "268435456"' in out, out[-3000:]


def test_up_repairs_the_drift(lifecycle):
    _ok(lifecycle, "repair")
    _ok(lifecycle, "preview repaired")


def test_a_bigger_root_disk_is_an_update_in_place(lifecycle):
    out = _ok(lifecycle, "grow").stdout
    assert "~ 1 updated" in out and "replace" not in out, out[-3000:]
    assert '"1073741824" => "2147483648"' in out, out[-3000:]


def test_a_smaller_root_disk_is_refused_by_the_preview(lifecycle):
    step = lifecycle.step("preview shrink")
    text = step.stdout + step.stderr
    assert step.returncode != 0, f"a shrinking disk was accepted:\n{text[-3000:]}"
    assert "would shrink from 2 GiB to 1 GiB" in text and "disks only grow in place" in text, text[-3000:]


def test_ignition_content_stays_secret_in_the_state(lifecycle):
    assert lifecycle.state_text, "no state was saved"
    assert SECRET_MARKER not in lifecycle.state_text, "the Ignition content is in the state in plain text"


def test_destroy_leaves_no_libvirt_object(lifecycle):
    _ok(lifecycle, "destroy")
    assert lifecycle.left_behind == [], lifecycle.left_behind

"""Helpers of the tests that run the native providers on this machine's real libvirtd (qemu:///system, TCG):
one probe node's objects, created through the providers, and what its serial console reports.

Everything is named eaf-test-* on a 10.98.x.0/24 subnet given by the test, and deleted again by the Ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.libvirt.model import BaseImageDef
from infra.libvirt.native import props, providers, render
from infra.libvirt.native.connection import connection
from infra.paths import PROJECT_DIR
from tests.libvirt_native.conftest import Ledger
from tests.libvirt_native.fixtures import HOST, ObjectSet, objects
from tests.support.libvirtd import LibvirtdUnavailableError, ensure_libvirtd

SYSTEM = "qemu:///system"
PROBE = PROJECT_DIR / ".work" / "probe"
POOL_DIR = "/var/lib/libvirt"
PROBE_PREFIX = "EAF-PROBE "
# ~10 s on an idle 2-core machine; TCG slows down many times over when the machine is loaded.
BOOT_TIMEOUT_SECONDS = 300
# On a heavily loaded host the guest kernel's IO-APIC timer check times out under TCG and panics ("IO-APIC +
# timer doesn't work"); the check proves nothing about what these tests look at.
ROBUST_BOOT = "no_timer_check"


def system():
    """The connection to the real libvirtd, started if needed; fails loudly when it or the probe is missing."""
    try:
        ensure_libvirtd(SYSTEM)
    except LibvirtdUnavailableError as error:
        pytest.fail(f"real libvirtd unavailable: {error}", pytrace=False)
    missing = [name for name in ("vmlinuz", "initrd.img", "probe-base.qcow2", "SHA256SUMS")
               if not (PROBE / name).is_file()]
    if missing:
        pytest.fail(f"probe image incomplete ({', '.join(missing)} missing in {PROBE}): "
                    "run scripts/build-probe-image.sh", pytrace=False)
    return connection(SYSTEM, HOST)


def manifest_cmdline() -> str:
    return json.loads((PROBE / "manifest.json").read_text())["cmdline"]


def probe_node(subnet: str, cmdline_extra: str = "", image_source: str | None = None,
               image_sha256: str | None = None) -> tuple[ObjectSet, BaseImageDef]:
    """One node booting the probe kernel, its root volume an overlay on a base image imported from
    `image_source` (default: the probe's base image, pinned by its SHA256SUMS)."""
    cmdline = f"{manifest_cmdline()} {ROBUST_BOOT} {cmdline_extra}".strip()
    world = objects(SYSTEM, POOL_DIR, kernel=(str(PROBE / "vmlinuz"), str(PROBE / "initrd.img"), cmdline),
                    with_base_image=True, subnet=subnet)
    if image_source is None:
        image = BaseImageDef(HOST, world.pool.name, world.root.backing, str(PROBE / "probe-base.qcow2"), None,
                             "qcow2", str(PROBE / "SHA256SUMS"))
    else:
        image = BaseImageDef(HOST, world.pool.name, world.root.backing, image_source, image_sha256, "qcow2")
    return world, image


def ignition_for(world: ObjectSet) -> str:
    return json.dumps({"ignition": {"version": "3.2.0"}, "storage": {"files": [
        {"path": "/etc/eaf-test", "contents": {"source": f"data:,{world.prefix}"}}]}}, sort_keys=True)


def create_node(ledger: Ledger, world: ObjectSet, image: BaseImageDef, ignition: str,
                extra_volumes: tuple = ()) -> dict[str, tuple]:
    """Everything one node needs, in dependency order; returns {kind: (provider, id, inputs, outputs)}."""
    made = {}

    def create(kind, provider, inputs):
        result = ledger.create(provider, inputs)
        made[kind] = (provider, result.id, inputs, result.outs)
        return result

    create("pool", providers.PoolProvider(), props.pool_props(world.pool))
    create("base", providers.BaseImageProvider(), props.base_image_props(image, SYSTEM))
    net = create("network", providers.NetworkProvider(), props.network_props(world.network))
    create("reservation", providers.ReservationProvider(),
           props.reservation_props(world.reservation, world.network, net.id))
    create("root", providers.VolumeProvider(), props.volume_props(world.root, world.pool))
    for volume in extra_volumes:
        create(volume.name, providers.VolumeProvider(), props.volume_props(volume, world.pool))
    create("ignition", providers.IgnitionProvider(), props.ignition_props(world.ignition, SYSTEM, ignition))
    create("domain", providers.DomainProvider(), props.domain_props(world.domain, world.pool))
    return made


def remove_logs(*domain_names: str) -> None:
    """The serial and QEMU logs libvirt leaves beside a deleted test domain."""
    for name in domain_names:
        for log in Path(render.SERIAL_LOG_DIR).glob(f"{name}*.log"):
            log.unlink()


def probe_line(world: ObjectSet, until: Callable[[dict], bool] = lambda _line: True,
               timeout: float = BOOT_TIMEOUT_SECONDS) -> dict:
    """The newest probe line on the node's serial console for which `until` holds, waiting up to `timeout`."""
    log = Path(render.serial_log_path(world.domain))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.is_file():
            lines = [json.loads(line[len(PROBE_PREFIX):]) for line in log.read_text(errors="replace").splitlines()
                     if line.startswith(PROBE_PREFIX) and line.rstrip().endswith("}")]
            matching = [line for line in lines if until(line)]
            if matching:
                return matching[-1]
        time.sleep(1)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no serial log)"
    pytest.fail(f"{world.domain.name}: no matching {PROBE_PREFIX!r} line within {timeout}s in {log}:\n{tail}")

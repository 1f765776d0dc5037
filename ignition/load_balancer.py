"""The load-balancer node (UPI): HAProxy in front of the API, the machine-config server and ingress.

HAProxy runs from the pinned container image (infra/data/versions.yaml `images.haproxy`) under podman, as a plain
systemd unit: the node is a bare CoreOS host, not part of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from ignition.document import file_entry, unit_entry
from ignition.node import dns_servers
from ignition.templates import render_template
from infra.catalog import versions
from infra.plan.addresses import host_address
from infra.plan.model import Role
from infra.spec.load import LoadedStack

CONFIG_DIR = "/etc/haproxy"
CONTAINER_NAME = "haproxy"
UNIT_NAME = "haproxy.service"


@dataclass(frozen=True)
class Backend:
    name: str
    address: str


def bootstrap_address(loaded: LoadedStack) -> IPv4Address | None:
    """Where the bootstrap node is or would be. Kept in the backends when the node is off, so that switching it off
    does not change the balancer's Ignition (which would replace the balancer VM); health checks mark it down.
    None only when another node holds that address (then a backend named bootstrap would be that node)."""
    planned = [n for n in loaded.plan.nodes if n.role is Role.BOOTSTRAP]
    if planned:
        return planned[0].ip
    pin = loaded.spec.nodes.bootstrap.pin.ip
    address = pin or host_address(loaded.spec.network.cidr, loaded.spec.network.offsets.bootstrap)
    return None if any(n.ip == address for n in loaded.plan.nodes) else address


def api_backends(loaded: LoadedStack) -> list[Backend]:
    """API (6443) and machine-config server (22623): the bootstrap node first, then the controllers."""
    backends = []
    address = bootstrap_address(loaded)
    if address is not None:
        backends.append(Backend("bootstrap", str(address)))
    backends += [Backend(n.name, str(n.ip)) for n in loaded.plan.by_role(Role.CONTROLLER)]
    return backends


# Server slots HAProxy keeps for the ingress nodes it finds in DNS: more than any cluster here has workers.
INGRESS_SLOTS = 64


def haproxy_config(loaded: LoadedStack) -> str:
    return render_template("haproxy.cfg.j2", domain=loaded.plan.domain, api_servers=api_backends(loaded),
                           ingress_name=loaded.plan.ingress_name, ingress_slots=INGRESS_SLOTS,
                           nameservers=[str(s) for s in dns_servers(loaded.plan.network, loaded.stack)],
                           runtime_api=loaded.spec.okd.install.lb_runtime_api)


def haproxy_unit(loaded: LoadedStack) -> str:
    return render_template("haproxy.service.j2", domain=loaded.plan.domain, image=versions()["images"]["haproxy"],
                           container_name=CONTAINER_NAME, config_dir=CONFIG_DIR)


def load_balancer_parts(loaded: LoadedStack) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(files, units) of the balancer."""
    files = (file_entry(f"{CONFIG_DIR}/haproxy.cfg", haproxy_config(loaded)),)
    units = (unit_entry(UNIT_NAME, haproxy_unit(loaded)),)
    return files, units

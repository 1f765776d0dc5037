"""The load-balancer node (UPI): HAProxy in front of the API, the machine-config server and ingress.

HAProxy runs from the pinned container image (infra/data/versions.yaml `images.haproxy`) under podman, as a plain
systemd unit: the node is a bare CoreOS host, not part of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ignition.document import file_entry, unit_entry
from ignition.node import dns_servers
from ignition.templates import render_template
from infra.contracts import IgnitionInput
from infra.plan.model import Role

CONFIG_DIR = "/etc/haproxy"
CONTAINER_NAME = "haproxy"
UNIT_NAME = "haproxy.service"


@dataclass(frozen=True)
class Backend:
    name: str
    address: str


def api_backends(args: IgnitionInput) -> list[Backend]:
    """API (6443) and machine-config server (22623): the bootstrap node first, then the controllers. The bootstrap
    stays listed when its node is off (the plan keeps its address), so switching it off does not change the
    balancer's Ignition (which would replace the balancer VM); health checks mark it down."""
    plan = args.plan
    backends = []
    if plan.network.bootstrap_ip is not None:
        backends.append(Backend("bootstrap", str(plan.network.bootstrap_ip)))
    backends += [Backend(n.name, str(n.ip)) for n in plan.by_role(Role.CONTROLLER)]
    return backends


# Server slots HAProxy keeps for the ingress nodes it finds in DNS: more than any cluster here has workers.
INGRESS_SLOTS = 64


def haproxy_config(args: IgnitionInput) -> str:
    return render_template("haproxy.cfg.j2", domain=args.plan.domain, api_servers=api_backends(args),
                           ingress_name=args.plan.ingress_name, ingress_slots=INGRESS_SLOTS,
                           nameservers=[str(s) for s in dns_servers(args.plan.network)],
                           runtime_api=args.lb_runtime_api)


def haproxy_unit(args: IgnitionInput) -> str:
    return render_template("haproxy.service.j2", domain=args.plan.domain, image=args.haproxy_image,
                           container_name=CONTAINER_NAME, config_dir=CONFIG_DIR)


def load_balancer_parts(args: IgnitionInput) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(files, units) of the balancer."""
    files = (file_entry(f"{CONFIG_DIR}/haproxy.cfg", haproxy_config(args)),)
    units = (unit_entry(UNIT_NAME, haproxy_unit(args)),)
    return files, units

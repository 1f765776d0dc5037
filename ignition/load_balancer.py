"""The load-balancer node(s) (UPI): HAProxy in front of the API, the machine-config server and ingress.

HAProxy runs from the pinned container image (infra/data/versions.yaml `images.haproxy`) under podman, as a plain
systemd unit: the node is a bare CoreOS host, not part of the cluster. A pair of balancers also runs keepalived
(`images.keepalived`): the API and ingress addresses are virtual IPs that move to the other balancer when one
fails. Balancers never update on their own (Zincati off), so they never reboot together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ignition.document import file_entry, unit_entry
from ignition.node import dns_servers
from ignition.templates import render_template
from infra.contracts import IgnitionInput
from infra.plan.addresses import usable_host_numbers
from infra.plan.model import PlannedNode, Role

CONFIG_DIR = "/etc/haproxy"
CONTAINER_NAME = "haproxy"
UNIT_NAME = "haproxy.service"
KEEPALIVED_DIR = "/etc/keepalived"
KEEPALIVED_RUN_DIR = "/run/keepalived"
KEEPALIVED_UNIT = "keepalived.service"
ZINCATI_FILE = "/etc/zincati/config.d/90-eaf-no-auto-updates.toml"


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


def ingress_slots(args: IgnitionInput) -> int:
    """Server slots HAProxy keeps for the ingress nodes it finds in DNS: one per address of the machine network, so
    no number of workers can outgrow them, and the count changes with the network only (not with the workers)."""
    return len(usable_host_numbers(args.plan.network.cidr))


def haproxy_config(args: IgnitionInput) -> str:
    return render_template("haproxy.cfg.j2", domain=args.plan.domain, api_servers=api_backends(args),
                           ingress_name=args.plan.ingress_name, ingress_slots=ingress_slots(args),
                           nameservers=[str(s) for s in dns_servers(args.plan.network)],
                           runtime_api=args.lb_runtime_api)


def haproxy_unit(args: IgnitionInput) -> str:
    return render_template("haproxy.service.j2", domain=args.plan.domain, image=args.haproxy_image,
                           container_name=CONTAINER_NAME, config_dir=CONFIG_DIR)


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    router_id: int
    priority: int
    vip: str


def _router_id(cluster: str, instance: str) -> int:
    """1..255, from names only: stable, and different for the two VIPs and for clusters that share a segment."""
    return int(hashlib.sha256(f"{cluster}/{instance}".encode()).hexdigest(), 16) % 255 + 1


def vrrp_instances(args: IgnitionInput, node: PlannedNode) -> list[VrrpInstance]:
    """The API VIP prefers the first balancer, the ingress VIP the second: both carry traffic."""
    balancers = [n.name for n in args.plan.by_role(Role.LOAD_BALANCER)]
    first = balancers.index(node.name) == 0
    net = args.plan.network
    return [VrrpInstance("api", _router_id(args.plan.cluster_name, "api"), 150 if first else 100, str(net.api_ip)),
            VrrpInstance("ingress", _router_id(args.plan.cluster_name, "ingress"), 100 if first else 150,
                         str(net.ingress_ip))]


def keepalived_config(args: IgnitionInput, node: PlannedNode) -> str:
    peers = [str(n.ip) for n in args.plan.by_role(Role.LOAD_BALANCER) if n.name != node.name]
    return render_template("keepalived.conf.j2", node=node.name, domain=args.plan.domain, own_address=str(node.ip),
                           peers=peers, instances=vrrp_instances(args, node),
                           prefix_length=args.plan.network.prefix_length)


def keepalived_unit(args: IgnitionInput, node: PlannedNode) -> str:
    return render_template("keepalived.service.j2", domain=args.plan.domain, image=args.keepalived_image,
                           container_name="keepalived", own_address=str(node.ip), config_dir=KEEPALIVED_DIR,
                           run_dir=KEEPALIVED_RUN_DIR)


def load_balancer_parts(args: IgnitionInput, node: PlannedNode
                        ) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """(files, units) of a balancer: HAProxy, no automatic updates, and keepalived when it is one of a pair."""
    files = [file_entry(f"{CONFIG_DIR}/haproxy.cfg", haproxy_config(args)),
             file_entry(ZINCATI_FILE, render_template("zincati-no-auto-updates.toml.j2", domain=args.plan.domain))]
    units = [unit_entry(UNIT_NAME, haproxy_unit(args))]
    if len(args.plan.by_role(Role.LOAD_BALANCER)) > 1:
        files.append(file_entry(f"{KEEPALIVED_DIR}/keepalived.conf.in", keepalived_config(args, node)))
        units.append(unit_entry(KEEPALIVED_UNIT, keepalived_unit(args, node)))
    return tuple(files), tuple(units)

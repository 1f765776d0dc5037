"""Plain, frozen records of the machine plan. Everything below the spec reads these, not the raw config."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network

from infra.spec.network import FirstBoot


class Role(StrEnum):
    LOAD_BALANCER = "load-balancer"
    BOOTSTRAP = "bootstrap"
    CONTROLLER = "controller"
    WORKER = "worker"
    GPU_WORKER = "gpu-worker"


@dataclass(frozen=True)
class GpuAssignment:
    host: str
    address: str  # PCI address on that host, e.g. 0000:17:00.0
    model: str


@dataclass(frozen=True)
class DataDiskPlan:
    name: str
    size_gib: int


@dataclass(frozen=True)
class PlannedNode:
    name: str  # node name inside the cluster, e.g. "worker-1"; also the Pulumi resource name stem
    role: Role
    hostname: str  # short host name; the FQDN is hostname + "." + cluster domain
    fqdn: str
    domain_name: str  # libvirt domain name, unique per hypervisor: "<cluster>-<node>"
    host: str  # hypervisor host name
    ip: IPv4Address
    mac: str
    vcpu: int
    memory_mib: int
    disk_gib: int
    firmware: str
    data_disks: tuple[DataDiskPlan, ...] = ()
    gpus: tuple[GpuAssignment, ...] = ()
    mig_layout: str | None = None
    pool: str = ""  # the group it belongs to: a worker pool's name, or the role's stem (ctrl, lb, bootstrap)
    labels: tuple[tuple[str, str], ...] = ()  # Kubernetes labels its Node gets (worker pools)
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, effect)


@dataclass(frozen=True)
class HostPlan:
    name: str
    uri: str
    pool_name: str
    pool_path: str
    cpus: int
    memory_gib: int
    pool_capacity_gib: int


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    mode: str
    bridge: str | None
    cidr: IPv4Network
    gateway: IPv4Address
    prefix_length: int
    mtu: int
    dns_servers: tuple[IPv4Address, ...]
    domain: str
    api_ip: IPv4Address  # api and api-int resolve here (the load balancer)
    ingress_ip: IPv4Address  # *.apps resolves here (the load balancer)
    # Where the bootstrap node is, or would be when it is off: the load balancer keeps it as a (health-checked)
    # backend either way, so switching the node off never changes the balancer's Ignition. None only when another
    # node holds that address.
    bootstrap_ip: IPv4Address | None
    ntp_servers: tuple[str, ...] = ()  # the site's time servers every node's chrony uses
    # How a node gets its planned address on first boot: "dhcp" (a reservation per MAC) or "static" (first-boot
    # kernel arguments, infra/plan/first_boot.py).
    first_boot: FirstBoot = "dhcp"

    @property
    def node_dns_servers(self) -> tuple[IPv4Address, ...]:
        """The resolvers a node uses: libvirt's dnsmasq answers on the gateway of a nat/route network; a bridge uses
        the site's DNS servers (the planner refuses a bridge network without them)."""
        if self.mode in ("nat", "route"):
            return (self.gateway,)
        return self.dns_servers


@dataclass(frozen=True)
class ClusterPlan:
    stack: str
    cluster_name: str
    domain: str
    role: str
    hosts: tuple[HostPlan, ...]
    network: NetworkPlan
    nodes: tuple[PlannedNode, ...]

    def by_role(self, *roles: Role) -> tuple[PlannedNode, ...]:
        return tuple(n for n in self.nodes if n.role in roles)

    def with_flag(self, **wanted: bool) -> tuple[PlannedNode, ...]:
        """Nodes whose role has these flags in the role table: `plan.with_flag(cluster_node=True)`."""
        from infra.plan.roles import roles_where

        return self.by_role(*roles_where(**wanted))

    @property
    def ingress_nodes(self) -> tuple[PlannedNode, ...]:
        """Where OKD's routers run: the compute nodes (GPU workers too), or the controllers of a cluster without."""
        return self.with_flag(compute=True) or self.by_role(Role.CONTROLLER)

    @property
    def ingress_name(self) -> str:
        """A DNS name with one A record per ingress node. The load balancer resolves it at run time, so adding or
        removing a worker changes DNS only, never the balancer's configuration (or its VM)."""
        return f"ingress.{self.domain}"

    def on_host(self, host: str) -> tuple[PlannedNode, ...]:
        return tuple(n for n in self.nodes if n.host == host)

    def node(self, name: str) -> PlannedNode:
        for candidate in self.nodes:
            if candidate.name == name:
                return candidate
        raise KeyError(f"no node named {name!r} in stack {self.stack}")

    def placement_table(self) -> str:
        """The plan as a fixed-width table, for the preview output and the `placement` export."""
        header = ("node", "role", "host", "ip", "mac", "vcpu", "mem MiB", "disk GiB", "gpus")
        rows = [
            (n.name, n.role.value, n.host, str(n.ip), n.mac, str(n.vcpu), str(n.memory_mib), str(n.disk_gib),
             ",".join(g.address for g in n.gpus) or "-")
            for n in self.nodes
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
        ]
        return "\n".join(lines)

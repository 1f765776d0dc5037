"""What every node gets from eaf-infra whatever its role: hostname, static network, SSH keys for `core`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any

from ignition.document import MODE_PRIVATE, core_user, file_entry
from ignition.templates import render_template
from infra.plan.model import NetworkPlan, PlannedNode
from infra.plan.roles import role_info

KEYFILE_DIR = "/etc/NetworkManager/system-connections"


def dns_servers(network: NetworkPlan) -> tuple[IPv4Address, ...]:
    """The node's resolvers; the plan says which (the first-boot kernel arguments name the same ones)."""
    return network.node_dns_servers


def keyfile_path(network: NetworkPlan) -> str:
    return f"{KEYFILE_DIR}/{network.name}.nmconnection"


def connection_uuid(node: PlannedNode, network: NetworkPlan) -> str:
    """A UUID derived from names only: without one NetworkManager makes its own, and the config would churn."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{network.name}.{node.fqdn}"))


def network_keyfile(node: PlannedNode, network: NetworkPlan) -> str:
    return render_template(
        "node-network.nmconnection.j2",
        fqdn=node.fqdn,
        network_name=network.name,
        connection_id=network.name,
        connection_uuid=connection_uuid(node, network),
        mac=node.mac,
        mtu=network.mtu,
        address=str(node.ip),
        prefix_length=network.prefix_length,
        gateway=str(network.gateway),
        dns_servers=[str(s) for s in dns_servers(network)],
        search_domain=network.domain,
    )


CHRONY_CONF = "/etc/chrony.conf"


def chrony_config(network: NetworkPlan) -> str | None:
    """chrony's config from the site's NTP servers; None when the stack names none (the OS image's default)."""
    if not network.ntp_servers:
        return None
    return render_template("chrony.conf.j2", domain=network.domain, servers=list(network.ntp_servers))


def node_files(node: PlannedNode, network: NetworkPlan) -> list[dict[str, Any]]:
    """The files every node gets. The Kubernetes node name is the hostname, so it is the planned short name. Nodes
    outside the cluster (load balancers, bootstrap) get chrony's config here; cluster nodes get it as a
    MachineConfig (the machine-config operator owns /etc/chrony.conf there)."""
    files = [
        file_entry("/etc/hostname", node.hostname + "\n"),
        file_entry(keyfile_path(network), network_keyfile(node, network), mode=MODE_PRIVATE),
    ]
    chrony = chrony_config(network)
    if chrony is not None and not role_info(node.role).cluster_node:
        files.append(file_entry(CHRONY_CONF, chrony))
    return files


def node_users(ssh_keys: Sequence[str]) -> list[dict[str, Any]]:
    return [core_user(list(ssh_keys))] if ssh_keys else []

"""What the site's own DHCP and DNS must serve for a bridge-mode cluster (libvirt serves them for nat/route).

On a bridge network the VMs sit on the cluster VLAN. CoreOS fetches its machine-config-server config in the
initramfs, before the static NetworkManager keyfiles from Ignition apply, so first boot needs a DHCP reservation
per MAC; and OKD needs api, api-int and *.apps in DNS. The program exports both so the network team can apply them.
"""

from __future__ import annotations

from infra.plan.model import ClusterPlan


def site_records(plan: ClusterPlan) -> dict[str, list[dict[str, str]]]:
    net = plan.network
    return {
        "dhcp": [{"node": n.name, "mac": n.mac, "ip": str(n.ip), "hostname": n.fqdn} for n in plan.nodes],
        "dns": [
            {"name": f"api.{plan.domain}", "type": "A", "value": str(net.api_ip)},
            {"name": f"api-int.{plan.domain}", "type": "A", "value": str(net.api_ip)},
            {"name": f"*.apps.{plan.domain}", "type": "A", "value": str(net.ingress_ip)},
            *({"name": n.fqdn, "type": "A", "value": str(n.ip)} for n in plan.nodes),
            *({"name": plan.ingress_name, "type": "A", "value": str(n.ip)} for n in plan.ingress_nodes),
        ],
    }

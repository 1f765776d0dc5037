"""Bridge-mode stacks export the DHCP reservations and DNS records the site must serve."""


def test_bridge_stack_exports_a_dhcp_reservation_per_node_and_okd_dns_names(stack_runs):
    run = stack_runs("prod-a")
    records = run.outputs["siteNetworkRecords"]
    placement = run.outputs["placement"]
    assert len(records["dhcp"]) == len(placement.splitlines()) - 1
    names = {r["name"]: r["value"] for r in records["dns"]}
    # The load-balancer pair's virtual IPs (offsets 3 and 4), not either balancer's own address.
    assert names["api.eaf-prod-a.fnal.gov"] == names["api-int.eaf-prod-a.fnal.gov"] == "10.42.32.3"
    assert names["*.apps.eaf-prod-a.fnal.gov"] == "10.42.32.4"
    assert names["ctrl-0.eaf-prod-a.fnal.gov"] == "10.42.32.10"


def test_nat_stack_exports_none_because_libvirt_serves_them(stack_runs):
    assert "siteNetworkRecords" not in stack_runs("local").outputs

"""The dev shape for real: one stack on three hypervisors over qemu+ssh, bridge mode, the site's DHCP/DNS.

preflight reads every host over its URI -> `pulumi up` -> every VM runs on its planned host with its planned lease
(from the site DHCP stand-in, fed only from `siteNetworkRecords`), resolves api/api-int/*.apps there and read its own
Ignition -> a preview shows no change -> a second worker creates only its objects, a first one less removes only
them -> `destroy` leaves nothing on any host. The stack is tests/multihost/stacks/dev.yaml (see project.py).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.multihost.conftest import TIMINGS
from tests.multihost.project import hosts_config, make_project

pytestmark = [pytest.mark.real, pytest.mark.slow]

STACK = "eaf-mh-dev"
CLUSTER = "eaf-mhd"


def _changes(preview: dict) -> list[dict]:
    return [s for s in preview.get("steps", []) if s.get("op") != "same"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, lab):
    project = make_project(tmp_path_factory.mktemp("multihost-dev"))
    project.write_stack(STACK, "dev", {"eaf:hosts": hosts_config(lab.hosts, CLUSTER)})
    project.pulumi(STACK, "stack", "init")
    yield project
    project.pulumi(STACK, "destroy", "--yes", step="destroy (cleanup)", check=False)
    TIMINGS.update({f"dev: {k}": v for k, v in project.timings.items()})


@pytest.fixture(scope="module")
def stack(project, lab):
    project.pulumi(STACK, "up", "--yes", step="up (6 VMs on 3 hosts)")
    _serve_site_network(project, lab)
    return project


def _serve_site_network(project, lab) -> str:
    """What the site's network team does with a new export: the DHCP/DNS server serves exactly these records."""
    return lab.dns.apply([project.outputs_file(STACK)])


def _report(project, lab, step: str) -> str:
    """`python -m infra local-report` over the three hosts; every VM the records name must agree with the plan."""
    logs = [f"--serial-log-dir={h.name}={h.serial_log_dir}" for h in lab.hosts]
    done = project.infra("local-report", "--stack", STACK, "--timeout", "600", *logs, step=step, check=False)
    vms = len(json.loads(project.outputs_file(STACK).read_text())["siteNetworkRecords"]["dhcp"])
    assert done.returncode == 0 and f"{vms} of {vms} VMs match the plan" in done.stdout, (
        done.stdout + done.stderr + lab.describe_failed(done.stdout, CLUSTER))
    return done.stdout


def test_preflight_reads_every_hypervisor_over_its_uri(project, lab):
    done = project.infra("preflight", "--stack", STACK, step="preflight")
    assert re.search(rf"^preflight {STACK}: \d+ ok, 0 failed$", done.stdout, re.M), done.stdout
    for host in lab.hosts:
        assert re.search(rf"^{host.name}\s+reachable\s+ok\s+{re.escape(host.uri)}: libvirt", done.stdout, re.M)
        assert re.search(rf"^{host.name}\s+network\s+ok\s+host bridge eaf-mh-br0 present", done.stdout, re.M)


def test_preflight_fails_on_every_host_without_the_bridge(project, lab):
    project.write_stack("eaf-mh-dev-nobridge", "dev", {"eaf:hosts": hosts_config(lab.hosts, CLUSTER),
                                                "eaf:network": {"mode": "bridge", "bridge": "eaf-mh-nobr",
                                                                "cidr": "10.86.0.0/24", "gateway": "10.86.0.1",
                                                                "dnsServers": ["10.86.0.1"]}})
    done = project.infra("preflight", "--stack", "eaf-mh-dev-nobridge", check=False)
    assert done.returncode == 1, done.stdout
    failed = re.findall(r"^(hv0\d)\s+network\s+FAIL\s+host bridge eaf-mh-nobr missing", done.stdout, re.M)
    assert failed == [h.name for h in lab.hosts], done.stdout


def test_every_vm_runs_on_its_planned_host_with_its_lease_dns_and_ignition(stack, lab):
    print(_report(stack, lab, "probe report (6 VMs)"))


def test_the_controllers_run_on_three_distinct_hosts(stack, lab):
    where = {item.split(": domain ")[1]: item.split(":")[0]
             for item in lab.leftovers() if ": domain " in item}
    controllers = {name: host for name, host in where.items() if name.startswith(f"{CLUSTER}-ctrl-")}
    assert sorted(controllers.values()) == ["hv01", "hv02", "hv03"], where


def test_every_lease_came_from_the_site_dhcp_fed_by_the_records(stack, lab):
    records = json.loads(stack.outputs_file(STACK).read_text())["siteNetworkRecords"]
    log = lab.dns.log()
    for reservation in records["dhcp"]:
        assert re.search(rf"DHCPACK\(eaf-mh-br0\) {re.escape(reservation['ip'])} {reservation['mac']}", log), (
            reservation, log[-3000:])


def test_preview_after_up_shows_no_change(stack):
    done = stack.pulumi(STACK, "preview", "--expect-no-changes", "--json", step="preview --expect-no-changes",
                        check=False)
    changed = _changes(json.loads(done.stdout))
    assert done.returncode == 0 and changed == [], (done.returncode, [(s["op"], s["urn"]) for s in changed],
                                                    done.stderr[-3000:])


def test_a_second_worker_creates_only_that_workers_objects(stack, lab):
    stack.pulumi(STACK, "config", "set", "--path", "eaf:nodes.workers.count", "2")
    changed = _changes(stack.preview_json(STACK, "preview (1->2 workers)"))
    assert changed and {s["op"] for s in changed} == {"create"}, [(s["op"], s["urn"]) for s in changed]
    assert all("worker-1" in s["urn"] for s in changed), [s["urn"] for s in changed]
    stack.pulumi(STACK, "up", "--yes", step="up (2nd worker)")
    _serve_site_network(stack, lab)
    assert "worker-1" in _report(stack, lab, "probe report (7 VMs)")


def test_back_to_one_worker_removes_only_that_workers_objects(stack, lab):
    stack.pulumi(STACK, "config", "set", "--path", "eaf:nodes.workers.count", "1")
    changed = _changes(stack.preview_json(STACK, "preview (2->1 workers)"))
    assert changed and {s["op"] for s in changed} == {"delete"}, [(s["op"], s["urn"]) for s in changed]
    assert all("worker-1" in s["urn"] for s in changed), [s["urn"] for s in changed]
    stack.pulumi(STACK, "up", "--yes", step="up (remove worker)")
    _serve_site_network(stack, lab)
    assert not [item for item in lab.leftovers() if "worker-1" in item]


def test_destroy_leaves_nothing_on_any_host(stack, lab):
    stack.pulumi(STACK, "destroy", "--yes", step="destroy")
    assert lab.leftovers() == []
    assert not [h.name for h in lab.hosts if (h.root / "lib" / CLUSTER).exists()], "pool folders left"

"""`python -m infra migrate` between a prod-a-like (active) and a prod-b-like (spare) stack on the same three hosts.

The active cluster runs; the site DNS (the stand-in, fed from siteNetworkRecords and the facility's CNAME zone file)
points the facility's service names at it, and its probe VMs resolve them there. The migration then runs for real:
1. bring-up-spare: `pulumi up` of prod-b through the Automation API (VMs on the three hosts);
2. sync-data: the JupyterHub database (written by JupyterHub's ORM) and the users' homes, sha256 per file;
3. switch-active: roles swapped in both stack files, the CNAMEs repointed in the zone file;
4. verify: everything checks out except what needs OKD: the spare exports no apiUrl (no cluster is installed here:
   no openshift-install, no CoreOS image), so the run stops there (exit 1) and step 5 (cold-spare) is not reached.
After the site DNS reloads the zone file, the VMs of both clusters resolve the service names to prod-b's ingress.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import yaml

from infra.ops.probe import last_probe_line
from infra.ops.traffic import ZoneFileSwitch
from tests.multihost.conftest import TIMINGS
from tests.multihost.hub_data import USERS, make_hub_data, read_hub, tree_digests
from tests.multihost.project import hosts_config, make_project

pytestmark = [pytest.mark.real, pytest.mark.slow]

ACTIVE, SPARE = "eaf-mh-prod-a", "eaf-mh-prod-b"
CLUSTERS = {ACTIVE: "eaf-mha", SPARE: "eaf-mhb"}
SERVICE_NAMES = ("jupyter.eaf.fnal.gov", "grafana.eaf.fnal.gov")  # infra/data/migration.yaml
MIGRATION_ID = "mh-prod-a-to-prod-b"


@pytest.fixture(scope="module")
def project(tmp_path_factory, lab):
    project = make_project(tmp_path_factory.mktemp("multihost-prod"))
    project.write_stack("eaf-mh-prod", "prod", secrets=False)
    for stack, cluster in CLUSTERS.items():
        project.write_stack(stack, stack.removeprefix("eaf-mh-"), {"eaf:hosts": hosts_config(lab.hosts, cluster)})
        project.pulumi(stack, "stack", "init")
    yield project
    _retire(project)
    TIMINGS.update({f"prod: {k}": v for k, v in project.timings.items()})


def _retire(project) -> None:
    """Prod disks are protected (Pulumi and the provider refuse to delete them): the documented way out is to
    take the prod role away (`pulumi up` unprotects), then destroy. Both stacks side by side; a stack that never
    came up (a failed run) is left as it is."""
    stacks = [s for s in CLUSTERS if len(json.loads(project.pulumi(s, "stack", "export").stdout)
                                         .get("deployment", {}).get("resources") or ()) > 0]
    for stack in stacks:
        project.pulumi(stack, "config", "set", "--path", "eaf:cluster.role", "dev")
    for command, step in ((("up", "--yes"), "retire: up as role dev (unprotect)"),
                          (("destroy", "--yes"), "retire: destroy")):
        started = time.monotonic()
        running = [subprocess.Popen(["pulumi", *command, "--stack", stack, "--non-interactive"], cwd=project.root,
                                    env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for stack in stacks]
        for process in running:
            process.communicate(timeout=900)
        project.timings[step] = time.monotonic() - started


@pytest.fixture(scope="module")
def site(tmp_path_factory, project, lab):
    """Before the migration: prod-a is up and serves the facility; the site DNS says so."""
    work = tmp_path_factory.mktemp("multihost-site")
    zone = work / "eaf-services.zone"
    ZoneFileSwitch(zone).point({name: f"{name.split('.')[0]}.apps.{CLUSTERS[ACTIVE]}.eaf.test"
                                for name in SERVICE_NAMES})
    project.pulumi(ACTIVE, "up", "--yes", step="up prod-a (2 VMs)")
    lab.dns.apply([project.outputs_file(ACTIVE)], cname_zone=zone)
    source, destination = work / "prod-a-data", work / "prod-b-data"
    token = make_hub_data(source)
    destination.mkdir()
    return {"zone": zone, "source": source, "destination": destination, "token": token, "work": work}


def _ingress(project, stack: str) -> str:
    records = json.loads(project.outputs_file(stack).read_text())["siteNetworkRecords"]
    (address,) = {r["value"] for r in records["dns"] if r["name"].startswith("*.apps.")}
    return address


def _probe_dns(lab, domains: list[str]) -> dict[str, dict]:
    lines = {}
    for host in lab.hosts:
        for name in domains:
            line = last_probe_line(host.serial_log_dir / f"{name}-serial.log")
            if line is not None:
                lines[name] = line.dns
    return lines


def _wait_for_names(lab, domains: list[str], address: str, step: str, timeout: float = 600.0) -> dict:
    """Until every VM's newest probe line resolves every service name to `address` (the probes ask again every
    5 s); returns what they said last."""
    started = time.monotonic()
    while True:
        seen = _probe_dns(lab, domains)
        if len(seen) == len(domains) and all(dns.get(n) == address for dns in seen.values() for n in SERVICE_NAMES):
            TIMINGS[step] = time.monotonic() - started
            return seen
        if time.monotonic() - started > timeout:
            return seen
        time.sleep(2)


def _vm_names(project, stack: str) -> list[str]:
    records = json.loads(project.outputs_file(stack).read_text())["siteNetworkRecords"]
    return [f"{CLUSTERS[stack]}-{r['node']}" for r in records["dhcp"]]


def _migrate(project, site, *extra: str, step: str | None = None):
    return project.infra("migrate", "--id", MIGRATION_ID, *extra, step=step, check=False)


def _execute(project, site, step: str):
    return _migrate(project, site, "--execute", "--from-data", str(site["source"]), "--to-data",
                    str(site["destination"]), "--dns-zone-file", str(site["zone"]), step=step)


@pytest.fixture(scope="module")
def migrated(project, site, lab):
    done = _execute(project, site, "migrate --execute (spare up, data, switch, verify)")
    # The site's DNS server reads the zone include file the switch rewrote (a reload), with both clusters' records.
    lab.dns.apply([project.outputs_file(ACTIVE), project.outputs_file(SPARE)], cname_zone=site["zone"])
    return done


def _unlike(lab, vms: list[str], seen: dict, address: str) -> str:
    """The VMs whose probes do not say `address` for every service name, described."""
    odd = [vm for vm in vms if any(seen.get(vm, {}).get(n) != address for n in SERVICE_NAMES)]
    return "\n".join(lab.describe(vm) for vm in odd)


def test_before_the_migration_the_active_clusters_vms_resolve_the_service_names_to_it(project, site, lab):
    vms, old = _vm_names(project, ACTIVE), _ingress(project, ACTIVE)
    seen = _wait_for_names(lab, vms, old, "probes see prod-a")
    assert {n: [dns.get(s) for s in SERVICE_NAMES] for n, dns in seen.items()} == {n: [old, old] for n in vms}, (
        seen, _unlike(lab, vms, seen, old))


def test_preflight_of_the_spare_counts_the_active_clusters_vms_on_the_shared_hosts(project, site, lab):
    done = project.infra("preflight", "--stack", SPARE, step="preflight prod-b")
    assert re.search(rf"preflight {SPARE}: \d+ ok, 0 failed", done.stdout), done.stdout
    others = [int(n) for n in re.findall(r"used by (\d+) other running VM", done.stdout)]
    assert sum(others) == len(_vm_names(project, ACTIVE)), done.stdout  # prod-a's VMs, seen on their hosts


def test_the_dry_run_prints_the_plan_and_changes_nothing(project, site):
    before = (project.root / f"Pulumi.{ACTIVE}.yaml").read_text(), (project.root / f"Pulumi.{SPARE}.yaml").read_text()
    done = _migrate(project, site, step="migrate (dry run)")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"migration {MIGRATION_ID}: {ACTIVE} (active) -> {SPARE} (spare)" in done.stdout
    assert "dry run: nothing was changed" in done.stdout
    after = (project.root / f"Pulumi.{ACTIVE}.yaml").read_text(), (project.root / f"Pulumi.{SPARE}.yaml").read_text()
    assert after == before
    assert not (project.root / ".work" / "migrations" / f"{MIGRATION_ID}.json").exists()


def test_the_migration_runs_every_step_a_cluster_less_site_allows_and_stops_at_the_api_check(migrated, project):
    out = migrated.stdout + migrated.stderr
    assert migrated.returncode == 1, out
    for step in ("bring-up-spare", "sync-data", "switch-active"):
        assert re.search(rf"^\d\. {step}: done$", out, re.M), out
    verify = out[out.index("4. verify: FAILED"):]
    problems = re.findall(r"^\s+- (.+)$", verify.split("\nfix the cause")[0], re.M)
    assert problems == [f"stack {SPARE} has no apiUrl output: is its cluster installed (okd.install)?"], out
    journal = json.loads((project.root / ".work" / "migrations" / f"{MIGRATION_ID}.json").read_text())
    assert sorted(journal["steps"]) == ["bring-up-spare", "switch-active", "sync-data"]
    assert journal["steps"]["bring-up-spare"]["result"]["changes"].get("create", 0) > 0


def test_the_hub_database_and_homes_arrive_intact(migrated, site, project):
    source, destination = tree_digests(site["source"]), tree_digests(site["destination"])
    assert destination == source
    manifests = sorted((project.root / ".work" / "migrations" / MIGRATION_ID).glob("*.sha256"))
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0]
              for m in manifests for line in m.read_text().splitlines()}
    assert listed == source  # the migration's own sha256 lists name every file with the digest it has
    hub = read_hub(site["destination"], site["token"], site["work"] / "read-back")
    assert hub.users == USERS and hub.named_servers == ("alice/gpu",) and hub.token_owner == "alice", hub


def test_the_roles_are_switched_in_both_stack_files(migrated, project):
    for stack, role in ((ACTIVE, "spare"), (SPARE, "active")):
        text = (project.root / f"Pulumi.{stack}.yaml").read_text()
        assert yaml.safe_load(text)["config"]["eaf:cluster"]["role"] == role
        assert text.startswith("# prod-"), "the stack file keeps its comments"


def test_the_spares_vms_run_on_their_planned_hosts_with_their_leases_dns_and_ignition(migrated, project, lab):
    logs = [f"--serial-log-dir={h.name}={h.serial_log_dir}" for h in lab.hosts]
    done = project.infra("local-report", "--stack", SPARE, "--timeout", "600", *logs, step="probe report prod-b",
                         check=False)
    vms = len(_vm_names(project, SPARE))
    assert done.returncode == 0 and f"{vms} of {vms} VMs match the plan" in done.stdout, (
        done.stdout + done.stderr + lab.describe_failed(done.stdout, CLUSTERS[SPARE]))


def test_after_the_switch_every_vm_resolves_the_service_names_to_the_new_active(migrated, project, lab):
    vms = _vm_names(project, ACTIVE) + _vm_names(project, SPARE)
    new = _ingress(project, SPARE)
    seen = _wait_for_names(lab, vms, new, "probes see the switch")
    assert {n: [dns.get(s) for s in SERVICE_NAMES] for n, dns in seen.items()} == {n: [new, new] for n in vms}, (
        seen, _unlike(lab, vms, seen, new))


def test_a_rerun_skips_the_finished_steps(migrated, project, site):
    done = _execute(project, site, "migrate --execute (re-run)")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    for number, step in enumerate(("bring-up-spare", "sync-data", "switch-active"), 1):
        assert re.search(rf"^{number}\. {step}: done before \(", out, re.M), out
    assert re.search(r"^4\. verify: FAILED", out, re.M), out

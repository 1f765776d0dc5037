"""The real tier of the `local` stack: the real Pulumi CLI, the native libvirt backend, libvirtd, TCG VMs.

up -> every VM runs and its probe line matches the plan (IP, DNS, Ignition hash) -> preview shows no change ->
2->3 workers creates only the new worker's objects -> 3->2 removes only them -> destroy leaves nothing behind.
Runs on a private copy of the project (cluster `eaf-ci`, its own CIDR and pool) so that a developer's own local
stack on the same machine is never touched. Set EAF_RECORD_PREVIEWS=1 to refresh tests/fixtures/preview/local-*.json.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.harness import PROJECT_DIR
from tests.local_stack.engine import make_copy, missing_engine_or_probe, steps, urn_name

pytestmark = [pytest.mark.real, pytest.mark.slow]

CLUSTER = "eaf-ci"
RECORDINGS = PROJECT_DIR / "tests" / "fixtures" / "preview"
ISOLATION = {  # config path -> value, applied with `pulumi config set --path` like a user would
    "eaf:cluster.name": CLUSTER,
    "eaf:network.cidr": "10.78.0.0/24",
    "eaf:hosts[0].pool.name": CLUSTER,
    "eaf:hosts[0].pool.path": f"/var/lib/libvirt/{CLUSTER}",
}


def _record(name: str, preview: dict) -> None:
    if os.environ.get("EAF_RECORD_PREVIEWS") == "1":
        RECORDINGS.mkdir(parents=True, exist_ok=True)
        (RECORDINGS / f"local-{name}.json").write_text(json.dumps(preview, indent=1, sort_keys=True) + "\n")


def _leftovers(connect) -> list[str]:
    conn = connect()
    try:
        found = [f"domain {d.name()}" for d in conn.listAllDomains() if d.name().startswith(CLUSTER + "-")]
        found += [f"network {n.name()}" for n in conn.listAllNetworks() if n.name() == CLUSTER]
        for pool in conn.listAllStoragePools():
            if pool.name() == CLUSTER:
                found.append(f"pool {pool.name()}")
                if pool.isActive():
                    found += [f"volume {v}" for v in pool.listVolumes()]
        return found
    finally:
        conn.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, libvirt_system):
    problem = missing_engine_or_probe()
    if problem:
        pytest.fail(problem)
    project = make_copy(tmp_path_factory.mktemp("local-stack"))
    project.pulumi("stack", "init")
    for path, value in ISOLATION.items():
        project.pulumi("config", "set", "--path", path, value)
    try:
        project.pulumi("up", "--yes", step="up (7 VMs)")
        yield project
    finally:
        project.pulumi("destroy", "--yes", step="destroy (cleanup)", check=False)
        timings = ", ".join(f"{k} {v:.0f} s" for k, v in project.timings.items())
        print(f"\nlocal stack tier timings: {timings}")


def _report(stack) -> str:
    done = stack.run("python", "-m", "infra", "local-report", "--stack", "local", "--timeout", "420",
                     step=f"probe report #{len(stack.timings)}", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_vm_runs_and_reports_its_planned_lease_dns_and_ignition(stack):
    out = _report(stack)
    assert "7 of 7 VMs match the plan" in out, out
    print(out)


def test_preview_after_up_shows_no_change(stack):
    preview = stack.preview_json("preview (no change)")
    _record("no-change", preview)
    assert steps(preview) == [], [(s["op"], s["urn"]) for s in steps(preview)]
    stack.pulumi("preview", "--expect-no-changes")


def test_a_third_worker_creates_only_that_workers_objects(stack):
    stack.pulumi("config", "set", "--path", "eaf:nodes.workers.count", "3")
    preview = stack.preview_json("preview (2->3 workers)")
    _record("add-worker", preview)
    changed = steps(preview)
    assert changed, "adding a worker must create something"
    assert {s["op"] for s in changed} == {"create"}, [(s["op"], s["urn"]) for s in changed]
    for step in changed:
        assert "worker-2" in step["urn"], f"not the new worker's object: {step['urn']}"
    assert {urn_name(s["urn"]) for s in changed} >= {"worker-2"}, "the worker's ClusterNode component"
    stack.pulumi("up", "--yes", step="up (3rd worker)")
    assert "8 of 8 VMs match the plan" in _report(stack)


def test_back_to_two_workers_removes_only_that_workers_objects(stack, libvirt_system):
    stack.pulumi("config", "set", "--path", "eaf:nodes.workers.count", "2")
    preview = stack.preview_json("preview (3->2 workers)")
    _record("remove-worker", preview)
    changed = steps(preview)
    assert {s["op"] for s in changed} == {"delete"}, [(s["op"], s["urn"]) for s in changed]
    assert all("worker-2" in s["urn"] for s in changed), [s["urn"] for s in changed]
    stack.pulumi("up", "--yes", step="up (remove worker)")
    assert not [x for x in _leftovers(libvirt_system) if "worker-2" in x]


def test_destroy_leaves_no_domain_volume_network_or_pool(stack, libvirt_system):
    stack.pulumi("destroy", "--yes", step="destroy")
    assert _leftovers(libvirt_system) == []

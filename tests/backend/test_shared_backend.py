"""The shared state backend for real: PostgreSQL (Debian's postgresql-15) on loopback holds the local stack's state.

Set up with scripts/state-db/create.sql as a team would. Then: `python -m infra up` (checkpoint, then up) with a
plain `pulumi up` started while it holds the lock -> refused with the lock's message, the first finishes; a
backend restart keeps the state; the read-only role previews without a lock and without writing; the state
database is lost and restored from a checkpoint; a prod stack on a local folder, or under the sandbox passphrase,
is refused by the program before anything is planned; destroy leaves libvirt clean.
Runs on a private copy of the project (cluster `eaf-bk`, 10.79.0.0/24, its own pool) on the shared libvirtd.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.ops.state_policy import load_policy
from tests.harness import PROJECT_DIR
from tests.local_stack.engine import ProjectCopy, make_copy, missing_engine_or_probe
from tests.support.postgres import PostgresServer, missing_postgres, remove_server, start_server

pytestmark = [pytest.mark.real, pytest.mark.slow]

CLUSTER = "eaf-bk"
ISOLATION = {  # config path -> value: a copy of the local stack that cannot meet eaf-local or the local tier's eaf-ci
    "eaf:cluster.name": CLUSTER,
    "eaf:network.cidr": "10.79.0.0/24",
    "eaf:hosts[0].pool.name": CLUSTER,
    "eaf:hosts[0].pool.path": f"/var/lib/libvirt/{CLUSTER}",
}
LOCK_MESSAGE = "the stack is currently locked by 1 lock(s)"
LOCKS = "SELECT key FROM pulumi_state WHERE key LIKE '%/.pulumi/locks/%'"
STATE_ROWS = "SELECT key || ' ' || md5(data::text) || ' ' || updated_at FROM pulumi_state ORDER BY key"
LOCK_WAIT_S = 180


@dataclass
class Tier:
    project: ProjectCopy
    server: PostgresServer
    checkpoints: Path
    first_up: subprocess.CompletedProcess[str]
    second_up: subprocess.CompletedProcess[str]
    locks_while_running: list[str]
    locks_after: list[str]


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


def _resources(project: ProjectCopy) -> list[str]:
    import json

    done = project.pulumi("stack", "export")
    return sorted(r["urn"] for r in json.loads(done.stdout)["deployment"].get("resources") or ())


def _wait_for_lock(server: PostgresServer, first: subprocess.Popen) -> list[str]:
    deadline = time.monotonic() + LOCK_WAIT_S
    while time.monotonic() < deadline and first.poll() is None:
        locks = server.query(LOCKS)
        if locks:
            return locks
        time.sleep(0.1)
    return []


def _concurrent_ups(project: ProjectCopy, server: PostgresServer):
    """`python -m infra up` in the background; once its lock is in the database, a plain `pulumi up`."""
    started = time.monotonic()
    first = subprocess.Popen(["python", "-m", "infra", "up", "--stack", "local", "--yes", "--non-interactive"],
                             cwd=project.root, env=project.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        locks = _wait_for_lock(server, first)
        second = project.run("pulumi", "up", "--yes", "--stack", "local", "--non-interactive",
                             step="second up (refused)", check=False) if locks else None
        out, err = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    project.timings["up (7 VMs, postgres state)"] = time.monotonic() - started
    if second is None:
        pytest.fail(f"the first up never showed a lock in the database\n{out[-4000:]}\n{err[-4000:]}")
    return subprocess.CompletedProcess(first.args, first.returncode, out, err), second, locks


def _cleanup(project: ProjectCopy, checkpoints: Path) -> None:
    """Destroy; if the state went missing on the way (a failed restore test), put the newest checkpoint back first."""
    done = project.pulumi("destroy", "--yes", step="destroy (cleanup)", check=False)
    newest = sorted((checkpoints / "local").glob("local-*.json"))
    if done.returncode != 0 and newest:
        project.pulumi("stack", "init", check=False)
        project.pulumi("stack", "import", "--file", str(newest[-1]), check=False)
        project.pulumi("destroy", "--yes", step="destroy (cleanup, restored)", check=False)


@pytest.fixture(scope="module")
def tier(tmp_path_factory, libvirt_system):
    problem = missing_engine_or_probe() or missing_postgres()
    if problem:
        pytest.fail(problem)
    started = time.monotonic()
    server = start_server()
    project = None
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    try:
        created = server.create_state_database()
        assert created.returncode == 0, created.stderr
        project = make_copy(tmp_path_factory.mktemp("backend-stack"))
        shutil.copytree(PROJECT_DIR / "scripts" / "state-db", project.root / "scripts" / "state-db")
        project.env.update(PULUMI_BACKEND_URL=server.backend_url("eaf_state"),
                           PGPASSWORD=server.password("eaf_state"), EAF_CHECKPOINT_DIR=str(checkpoints))
        project.timings["postgres: initdb, start, create.sql"] = time.monotonic() - started
        project.pulumi("stack", "init")
        for path, value in ISOLATION.items():
            project.pulumi("config", "set", "--path", path, value)
        first, second, locks = _concurrent_ups(project, server)
        yield Tier(project, server, checkpoints, first, second, locks, server.query(LOCKS))
    finally:
        if project is not None:
            _cleanup(project, checkpoints)
            timings = ", ".join(f"{k} {v:.0f} s" for k, v in project.timings.items())
            print(f"\nshared backend tier timings: {timings}; total {time.monotonic() - started:.0f} s")
        remove_server(server)


def test_the_read_only_role_may_only_select_the_state_table(tier):
    grants = tier.server.query("SELECT privilege_type FROM information_schema.role_table_grants "
                               "WHERE grantee = 'eaf_preview' AND table_name = 'pulumi_state'")
    assert grants == ["SELECT"], grants


def test_a_second_up_is_refused_with_the_locks_message(tier):
    said = tier.second_up.stdout + tier.second_up.stderr
    assert tier.second_up.returncode != 0, said
    assert LOCK_MESSAGE in said and "pulumi cancel" in said, said
    assert "created by" in said and "postgres://****:****@127.0.0.1" in said, said
    assert tier.server.password("eaf_state") not in said
    assert len(tier.locks_while_running) == 1, tier.locks_while_running


def test_the_first_up_finishes_from_a_fresh_checkpoint_and_releases_its_lock(tier):
    out = tier.first_up.stdout
    assert tier.first_up.returncode == 0, out[out.find("Diagnostics:"):][:6000] + tier.first_up.stderr[-4000:]
    assert "checkpoint: " in tier.first_up.stdout
    assert len(sorted((tier.checkpoints / "local").glob("local-*.json"))) == 1
    assert tier.locks_after == []
    assert len(_resources(tier.project)) >= 40


def test_the_state_survives_a_backend_restart(tier):
    before = _resources(tier.project)
    started = time.monotonic()
    tier.server.restart()
    tier.project.timings["postgres restart"] = time.monotonic() - started
    assert _resources(tier.project) == before
    tier.project.pulumi("preview", "--expect-no-changes", step="preview after restart")


def test_the_read_only_role_previews_without_lock_or_write_and_cannot_update(tier):
    read_only = dataclasses.replace(tier.project, env={
        **tier.project.env, "PULUMI_BACKEND_URL": tier.server.backend_url("eaf_preview"),
        "PGPASSWORD": tier.server.password("eaf_preview")})
    before = tier.server.query(STATE_ROWS)
    read_only.pulumi("preview", "--expect-no-changes", step="preview (read-only role)")
    assert tier.server.query(STATE_ROWS) == before
    refused = read_only.pulumi("up", "--yes", step="up (read-only role, refused)", check=False)
    assert refused.returncode != 0
    assert "permission denied for table pulumi_state" in refused.stdout + refused.stderr
    assert tier.server.query(STATE_ROWS) == before


def test_a_lost_state_database_is_restored_from_a_checkpoint(tier):
    project, server = tier.project, tier.server
    before = _resources(project)
    exported = project.run("python", "-m", "infra", "checkpoint", "export", "--stack", "local",
                           step="checkpoint export")
    checkpoint = Path(exported.stdout.strip().splitlines()[-1])
    assert checkpoint.is_file() and checkpoint.parent == tier.checkpoints / "local"

    gone = server.psql("-c", "DROP DATABASE eaf_state WITH (FORCE)")
    assert gone.returncode == 0, gone.stderr
    assert server.create_state_database().returncode == 0  # the same script gives an empty database again
    assert "local" not in project.pulumi("stack", "ls").stdout.split()

    salt = (project.root / "Pulumi.local.yaml").read_text()
    project.pulumi("stack", "init")
    assert (project.root / "Pulumi.local.yaml").read_text() == salt, "stack init must keep the stack's salt"
    project.run("python", "-m", "infra", "checkpoint", "restore", "--stack", "local", "--file", str(checkpoint),
                step="checkpoint restore")
    assert _resources(project) == before
    project.pulumi("preview", "--expect-no-changes", step="preview after restore")


def _prod_b(tier, backend_url: str, passphrase: str) -> ProjectCopy:
    for name in ("Pulumi.prod.yaml", "Pulumi.prod-b.yaml"):
        shutil.copy(PROJECT_DIR / name, tier.project.root / name)
    env = {**tier.project.env, "PULUMI_BACKEND_URL": backend_url, "PULUMI_CONFIG_PASSPHRASE": passphrase}
    env.pop("EAF_CHECKPOINT", None)
    return dataclasses.replace(tier.project, env=env)


def test_a_prod_stack_on_a_local_folder_is_refused_before_anything_is_planned(tier, tmp_path):
    (tmp_path / "state").mkdir()
    prod = _prod_b(tier, (tmp_path / "state").as_uri(), "a-prod-passphrase-for-this-test")
    prod.run("pulumi", "stack", "init", "--stack", "prod-b", "--non-interactive")
    done = prod.run("pulumi", "preview", "--stack", "prod-b", "--non-interactive", step="prod-b on file:// (refused)",
                    check=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "PULUMI_BACKEND_URL" in said and "shared, locked backend" in said, said
    assert "export PULUMI_BACKEND_URL='postgres://eaf_state@<state db host>" in said, said
    assert "VMs on" not in said, "the program went on to plan machines"


def test_a_prod_stack_under_the_sandbox_passphrase_is_refused(tier):
    sandbox = load_policy().sandbox_passphrase
    prod = _prod_b(tier, tier.server.backend_url("eaf_state"), sandbox)
    prod.run("pulumi", "stack", "init", "--stack", "prod-b", "--non-interactive")
    done = prod.run("pulumi", "preview", "--stack", "prod-b", "--non-interactive",
                    step="prod-b under the sandbox passphrase (refused)", check=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "PULUMI_CONFIG_PASSPHRASE" in said and "public sandbox passphrase" in said, said
    assert "PULUMI_BACKEND_URL" not in said, "the postgres backend is a shared one"
    prod.run("pulumi", "stack", "rm", "--yes", "--stack", "prod-b", "--non-interactive")


def test_destroy_leaves_no_domain_volume_network_or_pool(tier, libvirt_system):
    tier.project.pulumi("destroy", "--yes", step="destroy")
    assert _leftovers(libvirt_system) == []

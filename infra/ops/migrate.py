"""Move production from the active cluster to the spare one: the runbook of docs/migration.md as code.

Steps, in order; each is recorded in the journal (`.work/migrations/<id>.json`) when it finishes:
  1. bring-up-spare  `pulumi up` of the spare stack (Automation API on this project)
  2. sync-data       copy the datasets of infra/data/migration.yaml (hub database, user homes) with sha256 per file
  3. switch-active   swap `eaf:cluster.role` active/spare in the two stacks' config, repoint the service names
  4. verify          roles, service names, every copied file's sha256 at the destination, the new active's API URL
  5. cold-spare      the old cluster stays as it is (role spare): checked still there, nothing stopped or deleted

Dry run by default: prints the plan (and what a journal says is done), touches nothing. `--execute` acts; a re-run
with the same id skips finished steps and refuses other inputs. No step deletes: the engine interface has no
destroy, the copy keeps what it would overwrite, and nothing removes files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.catalog import MigrationData, migration_data
from infra.ops.datasync import CopyError, Endpoint, manifest_text, parse_manifest, sync_dataset, verify_dataset
from infra.ops.journal import Journal, JournalError
from infra.ops.stack_ops import StackOps
from infra.ops.traffic import StepBlocked, TrafficSwitch, targets_for
from infra.spec import layering
from infra.spec.layering import read_stack_file

ROLE_KEY = "eaf:cluster.role"
PROD_ROLES = ("active", "spare")


class MigrationError(RuntimeError):
    pass


def load_migration_data() -> MigrationData:
    """What the migration moves and switches (infra/data/migration.yaml, typed in infra.catalog)."""
    return migration_data()


def stack_cluster(project_dir: Path, stack: str) -> dict[str, Any]:
    """`eaf:cluster` of a stack as its files say (layered over its baseline): name, baseDomain, role."""
    cluster = layering.stack_cluster(project_dir, stack)
    if not cluster:
        raise MigrationError(f"stack {stack}: no eaf:cluster in Pulumi.{stack}.yaml")
    return cluster


def prod_roles(project_dir: Path) -> dict[str, str]:
    """Role of every active/spare stack, from the stack files."""
    roles = {}
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        own = read_stack_file(project_dir, stack)
        if own.get("layer") == "baseline":
            continue
        role = stack_cluster(project_dir, stack).get("role")
        if role in PROD_ROLES:
            roles[stack] = role
    return roles


def direction(project_dir: Path) -> tuple[str, str]:
    """(active stack, spare stack) from the stack files; exactly one of each."""
    roles = prod_roles(project_dir)
    active = [s for s, r in roles.items() if r == "active"]
    spare = [s for s, r in roles.items() if r == "spare"]
    if len(active) != 1 or len(spare) != 1:
        raise MigrationError(f"expected one active and one spare stack, the stack files say {roles or 'none'}: "
                             "give --from and --to")
    return active[0], spare[0]


@dataclass
class Migration:
    """Everything a run needs. `ops` is created on first use, so a dry run never starts the engine."""

    migration_id: str
    project_dir: Path
    from_stack: str
    to_stack: str
    data: MigrationData
    source: Endpoint
    destination: Endpoint
    switch: TrafficSwitch
    journal_dir: Path
    make_ops: Callable[[], StackOps]
    say: Callable[[str], None] = print
    _ops: StackOps | None = field(default=None, repr=False)

    @property
    def ops(self) -> StackOps:
        if self._ops is None:
            self._ops = self.make_ops()
        return self._ops

    def domain(self, stack: str) -> str:
        cluster = stack_cluster(self.project_dir, stack)
        return f"{cluster['name']}.{cluster['baseDomain']}"

    def targets(self) -> dict[str, str]:
        return targets_for(self.data.service_names, self.domain(self.to_stack))

    def inputs(self) -> dict[str, Any]:
        """What the journal is bound to: a re-run with any of these changed is refused."""
        return {
            "from": self.from_stack, "to": self.to_stack,
            "datasets": [d.model_dump() for d in self.data.datasets],
            "source": self.source.describe(), "destination": self.destination.describe(),
            "switch": self.switch.describe(), "targets": self.targets(),
        }

    def manifest_path(self, dataset: str) -> Path:
        return self.journal_dir / self.migration_id / f"{dataset}.sha256"


# ---- the steps ---------------------------------------------------------------------------------------------------

def _bring_up_spare(m: Migration) -> dict[str, Any]:
    m.say(f"  pulumi up -s {m.to_stack} (Automation API, project {m.project_dir})")
    return {"stack": m.to_stack, "changes": m.ops.up(m.to_stack)}


def _sync_data(m: Migration) -> dict[str, Any]:
    results = []
    for dataset in m.data.datasets:
        m.say(f"  {dataset.name}: {dataset.path}/{dataset.match}  {m.source.describe()} -> "
              f"{m.destination.describe()}")
        result = sync_dataset(dataset.name, dataset.path, dataset.match, m.source, m.destination,
                              keep_tag=m.migration_id)
        manifest = m.manifest_path(dataset.name)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(manifest_text(result.manifest), encoding="utf-8")
        m.say(f"    {result.files} file(s), {result.bytes} bytes: {len(result.copied)} copied, "
              f"{len(result.unchanged)} already there, {len(result.kept)} kept aside, "
              f"{len(result.only_at_destination)} only at the destination (left alone); sha256 list: {manifest}")
        results.append({**result.to_json(), "manifest": str(manifest)})
    return {"datasets": results}


def _switch_active(m: Migration) -> dict[str, Any]:
    # Config first: if the DNS change then has to wait (a ticket), the roles already say where production goes,
    # and the re-run sets them again (the same values) before checking DNS.
    m.ops.set_config(m.from_stack, ROLE_KEY, "spare")
    m.ops.set_config(m.to_stack, ROLE_KEY, "active")
    m.say(f"  {ROLE_KEY}: {m.from_stack} -> spare, {m.to_stack} -> active (commit both stack files)")
    targets = m.targets()
    m.switch.point(targets)
    for name, target in sorted(targets.items()):
        m.say(f"  {name} -> {target} ({m.switch.describe()})")
    return {"roles": {m.from_stack: "spare", m.to_stack: "active"}, "serviceNames": targets}


def _verify(m: Migration) -> dict[str, Any]:
    problems = []
    for stack, role in ((m.from_stack, "spare"), (m.to_stack, "active")):
        actual = m.ops.get_config(stack, ROLE_KEY)
        if actual != role:
            problems.append(f"stack {stack}: {ROLE_KEY} is {actual!r}, expected {role!r}")
    for name, target in sorted(m.targets().items()):
        actual = m.switch.current(name)
        if actual != target:
            problems.append(f"{name} points at {actual!r}, expected {target!r} ({m.switch.describe()})")
    checked = 0
    for dataset in m.data.datasets:
        expected = parse_manifest(m.manifest_path(dataset.name).read_text(encoding="utf-8"))
        problems.extend(verify_dataset(dataset.name, dataset.path, dataset.match, m.destination, expected))
        checked += len(expected)
    outputs = m.ops.outputs(m.to_stack)
    if not outputs.get("apiUrl"):
        problems.append(f"stack {m.to_stack} has no apiUrl output: is its cluster installed (okd.install)?")
    if problems:
        raise MigrationError("verification failed:\n" + "\n".join(f"  - {p}" for p in problems))
    m.say(f"  roles, {len(m.targets())} service name(s), {checked} copied file(s) and {m.to_stack}'s API "
          f"({outputs['apiUrl']}) check out")
    return {"filesChecked": checked, "apiUrl": outputs["apiUrl"]}


def _cold_spare(m: Migration) -> dict[str, Any]:
    count = m.ops.resource_count(m.from_stack)
    if count == 0:
        raise MigrationError(f"stack {m.from_stack} has no resources in its state: the old cluster is not there to "
                             "keep as the cold spare; investigate before anything else")
    m.say(f"  {m.from_stack} stays as it is: {count} resources kept, role spare; nothing was stopped or deleted. "
          f"Its hub must stay stopped (it no longer serves the service names).")
    return {"stack": m.from_stack, "resourcesKept": count}


@dataclass(frozen=True)
class Step:
    id: str
    run: Callable[[Migration], dict[str, Any]]
    plan: Callable[[Migration], str]


def _plan_sync(m: Migration) -> str:
    lines = [f"copy with sha256 per file, verified after the copy: {m.source.describe()} -> "
             f"{m.destination.describe()}; a differing file at the destination is kept aside "
             f"(<name>.eaf-kept-{m.migration_id}), nothing is deleted"]
    lines += [f"      {d.name}: {d.path}/{d.match} — {d.what}" for d in m.data.datasets]
    return "\n".join(lines)


STEPS = (
    Step("bring-up-spare", _bring_up_spare,
         lambda m: f"pulumi up -s {m.to_stack} (the spare: VMs, OKD, apps), Automation API on {m.project_dir}"),
    Step("sync-data", _sync_data, _plan_sync),
    Step("switch-active", _switch_active, lambda m: (
        f"{ROLE_KEY}: {m.from_stack} active -> spare, {m.to_stack} spare -> active (stack config); then "
        + ", ".join(f"{n} -> {t}" for n, t in sorted(m.targets().items())) + f" ({m.switch.describe()})")),
    Step("verify", _verify, lambda m: (
        "roles in config, service names resolve to the new cluster, every copied file's sha256 at the destination, "
        f"{m.to_stack} exports its apiUrl")),
    Step("cold-spare", _cold_spare, lambda m: (
        f"{m.from_stack} is kept as the cold spare: checked still in its state; nothing stopped, nothing deleted")),
)


def _check_roles(m: Migration, journal: Journal) -> None:
    """Before acting: the roles must be as this migration expects at the point it has reached."""
    before = {m.from_stack: "active", m.to_stack: "spare"}
    after = {m.from_stack: "spare", m.to_stack: "active"}
    # Until the switch step finishes, its first half (the config) may already be done: a DNS change was pending.
    allowed = [after] if journal.done("switch-active") else [before, after]
    actual = {stack: m.ops.get_config(stack, ROLE_KEY) for stack in before}
    if actual not in allowed:
        expected = " or ".join(str(a) for a in allowed)
        raise MigrationError(f"the stacks' roles are {actual}, expected {expected} at this point of migration "
                             f"{m.migration_id}: is another migration under way?")


def plan(m: Migration, journal: Journal | None) -> None:
    m.say(f"migration {m.migration_id}: {m.from_stack} (active) -> {m.to_stack} (spare)")
    for number, step in enumerate(STEPS, 1):
        state = "done" if journal is not None and journal.done(step.id) else "todo"
        m.say(f"  {number}. [{state}] {step.id:<15} {step.plan(m)}")


def run(m: Migration, execute: bool) -> int:
    """0: done (or planned); 1: a step failed; 2: bad inputs; 3: a step waits for an outside action."""
    existing = m.journal_dir / f"{m.migration_id}.json"
    if not execute:
        journal = None
        if existing.is_file():
            try:
                journal = Journal.open(m.journal_dir, m.migration_id, m.inputs())
            except JournalError as error:
                m.say(f"error: {error}")
                return 2
        plan(m, journal)
        m.say("dry run: nothing was changed. Add --execute to act.")
        return 0
    try:
        journal = Journal.open(m.journal_dir, m.migration_id, m.inputs())
        journal.save()
        _check_roles(m, journal)
    except (JournalError, MigrationError) as error:
        m.say(f"error: {error}")
        return 2
    m.say(f"migration {m.migration_id}: {m.from_stack} -> {m.to_stack}; journal {journal.path}")
    for number, step in enumerate(STEPS, 1):
        if journal.done(step.id):
            m.say(f"{number}. {step.id}: done before ({journal.steps[step.id]['finished']}), skipped")
            continue
        m.say(f"{number}. {step.id}")
        try:
            result = step.run(m)
        except StepBlocked as blocked:
            m.say(f"{number}. {step.id}: waiting: {blocked}")
            return 3
        except (MigrationError, CopyError, OSError) as error:
            m.say(f"{number}. {step.id}: FAILED: {error}\nfix the cause and re-run the same command: finished steps "
                  "are skipped")
            return 1
        journal.record(step.id, result)
        m.say(f"{number}. {step.id}: done")
    m.say(f"migration {m.migration_id} complete: {m.to_stack} is active, {m.from_stack} is the cold spare. Commit "
          f"Pulumi.{m.from_stack}.yaml and Pulumi.{m.to_stack}.yaml.")
    return 0

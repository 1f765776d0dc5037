"""The data a migration moves, made the way JupyterHub makes it: its database written by JupyterHub's own ORM
(jupyterhub 5.2.1 from requirements.lock: the schema and alembic stamp of the hub the apps deploy), and users'
home claims. Laid out as infra/data/migration.yaml says a cluster's data root is: <namespace>/<claim>/..."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

HUB_DB = Path("jupyterhub") / "hub-db" / "jupyterhub.sqlite"
USERS = ("alice", "bob")


@dataclass(frozen=True)
class HubContent:
    users: tuple[str, ...]
    named_servers: tuple[str, ...]  # user/server
    token_owner: str | None  # who the API token made at the source belongs to, read back through the ORM


def _session(db: Path):
    from jupyterhub import orm

    return orm.new_session_factory(f"sqlite:///{db}")()


def make_hub_data(root: Path) -> str:
    """A data root with the hub database and two users' homes; returns the API token the database holds."""
    from jupyterhub import orm

    db_path = root / HUB_DB
    db_path.parent.mkdir(parents=True)
    db = _session(db_path)
    db.add(orm.OAuthClient(identifier="jupyterhub"))  # the hub registers itself at start; tokens belong to it
    users = {name: orm.User(name=name) for name in USERS}
    db.add_all(users.values())
    db.commit()
    db.add(orm.Spawner(name="gpu", user=users["alice"], server=orm.Server()))
    token = users["alice"].new_api_token(note="eaf-mh migration")
    db.commit()
    db.close()
    home = root / "jupyterhub"
    (home / "claim-alice").mkdir()
    (home / "claim-alice" / "analysis.ipynb").write_text('{"cells": [], "nbformat": 4}\n', encoding="utf-8")
    # 2 MiB of reproducible bytes: more than one copy chunk.
    block = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(65536))
    (home / "claim-alice" / "events.parquet").write_bytes(block)
    (home / "claim-bob").mkdir()
    (home / "claim-bob" / ".bashrc").write_text("export PS1='$ '\n", encoding="utf-8")
    return token


def read_hub(root: Path, token: str, scratch: Path) -> HubContent:
    """What JupyterHub's ORM finds in the database under `root`, read from a copy in `scratch` (opening a database
    may write to it; the data root stays as the migration left it)."""
    from jupyterhub import orm

    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / HUB_DB.name
    shutil.copy2(root / HUB_DB, copy)
    db = _session(copy)
    try:
        found = orm.APIToken.find(db, token)
        return HubContent(
            users=tuple(sorted(u.name for u in db.query(orm.User))),
            named_servers=tuple(sorted(f"{s.user.name}/{s.name}" for s in db.query(orm.Spawner) if s.name)),
            token_owner=found.user.name if found is not None and found.user is not None else None,
        )
    finally:
        db.close()


def tree_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path (the test's own count, independent of the migration's)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}

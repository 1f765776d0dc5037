"""The role table (infra/data/roles.yaml): the one place that says what each kind of node is."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from infra.plan.model import Role
from infra.spec.base import Strict

_DATA = Path(__file__).resolve().parents[1] / "data" / "roles.yaml"

Boots = Literal["master-pointer", "worker-pointer", "bootstrap", "load-balancer"]
OkdMachine = Literal["bootstrap", "control-plane", "compute"]


class RoleInfo(Strict):
    stem: str
    config_key: str
    offset_key: str
    placement_rank: int
    boots: Boots
    cluster_node: bool = False
    compute: bool = False
    disposable: bool = False
    gpus: bool = False
    one_host_each: bool = False
    okd_machine: OkdMachine | None = None


class _RoleTable(Strict):
    roles: dict[Role, RoleInfo] = Field(min_length=len(Role))


@cache
def _table() -> dict[Role, RoleInfo]:
    with open(_DATA, encoding="utf-8") as handle:
        table = _RoleTable.model_validate(yaml.safe_load(handle)).roles
    missing = set(Role) - set(table)
    if missing:
        raise ValueError(f"{_DATA} has no row for role(s) {sorted(missing)}")
    return table


def role_info(role: Role) -> RoleInfo:
    return _table()[role]


def roles_where(**wanted: bool) -> tuple[Role, ...]:
    """The roles whose flags match, in table order: `roles_where(cluster_node=True)`."""
    return tuple(r for r, info in _table().items() if all(getattr(info, k) == v for k, v in wanted.items()))


def roles_in_rank_order() -> tuple[Role, ...]:
    return tuple(sorted(_table(), key=lambda r: _table()[r].placement_rank))

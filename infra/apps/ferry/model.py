"""FERRY's answers as typed records, and the identity map the sync writes.

FERRY answers every call with one envelope: `ferry_status` ("success" or "failure"), `ferry_error` (a list of
messages, on failure) and `ferry_output` (the payload). The payloads parsed here are those of the three calls the
sync makes (FERRY's REST API, v1 names): getAffiliationMembers, getUserInfo and getUserGroups. Anything not of that
shape is refused with the call, the JSON path and what was expected, never guessed around.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class FerryError(RuntimeError):
    """FERRY answered, but with `ferry_status: failure` (its own `ferry_error` messages are kept)."""

    def __init__(self, call: str, messages: tuple[str, ...]) -> None:
        self.call = call
        self.messages = messages
        super().__init__(f"FERRY {call} failed: {'; '.join(messages) or '(no ferry_error given)'}")


class FerryResponseError(ValueError):
    """FERRY's answer is not of the documented shape: the sync stops rather than write a wrong identity map."""

    def __init__(self, call: str, path: str, why: str) -> None:
        super().__init__(f"FERRY {call}: unexpected response at {path}: {why} (is the base URL FERRY's API, and "
                         "does the service still answer in its documented shape?)")


@dataclass(frozen=True)
class AffiliationMember:
    """One member of an affiliation unit (an experiment/VO in FERRY's terms)."""

    username: str
    uid: int


@dataclass(frozen=True)
class UserInfo:
    """getUserInfo: the account itself. `active` is FERRY's `status`; a banned account gets no identity."""

    username: str
    uid: int
    active: bool
    banned: bool


@dataclass(frozen=True)
class UnixGroup:
    name: str
    gid: int


@dataclass(frozen=True)
class Identity:
    """What a notebook server of the user runs as: uid, primary gid, supplemental gids, and the VOs it is in."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    vos: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "gid": self.gid, "groups": list(self.groups), "vos": list(self.vos)}


@dataclass(frozen=True)
class IdentityMap:
    """The identity map (ConfigMap `eaf-identities`, key identities.json): username -> Identity."""

    users: dict[str, Identity] = field(default_factory=dict)
    SCHEMA = 1

    def to_json(self) -> str:
        """Deterministic: an unchanged FERRY gives a byte-identical map (the ConfigMap update is then a no-op)."""
        document = {"schema": self.SCHEMA, "users": {name: self.users[name].as_json() for name in sorted(self.users)}}
        return json.dumps(document, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> IdentityMap:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("schema") != cls.SCHEMA:
            raise ValueError(f"identity map: expected schema {cls.SCHEMA}, got {str(document)[:80]!r}")
        return cls({name: Identity(uid=entry["uid"], gid=entry["gid"], groups=tuple(entry["groups"]),
                                   vos=tuple(entry["vos"])) for name, entry in document["users"].items()})


# -- parsing -------------------------------------------------------------------------------------------------------


def payload(call: str, body: bytes) -> Any:
    """`ferry_output` of a successful answer; FerryError on `failure`, FerryResponseError on anything else."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise FerryResponseError(call, "$", f"not JSON ({error}); first bytes: {body[:60]!r}") from None
    if not isinstance(document, dict) or "ferry_status" not in document:
        raise FerryResponseError(call, "$", "no ferry_status: not FERRY's response envelope")
    status = document["ferry_status"]
    if status == "failure":
        errors = document.get("ferry_error") or []
        raise FerryError(call, tuple(str(e) for e in (errors if isinstance(errors, list) else [errors])))
    if status != "success":
        raise FerryResponseError(call, "$.ferry_status", f"{status!r} is neither 'success' nor 'failure'")
    if "ferry_output" not in document:
        raise FerryResponseError(call, "$.ferry_output", "missing in a successful answer")
    return document["ferry_output"]


def _get(call: str, record: Any, path: str, key: str, kind: type) -> Any:
    if not isinstance(record, dict):
        raise FerryResponseError(call, path, f"expected an object, got {type(record).__name__}")
    if key not in record:
        raise FerryResponseError(call, f"{path}.{key}", "missing")
    value = record[key]
    # bool is an int in Python: a uid of `true` must not pass as 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FerryResponseError(call, f"{path}.{key}", f"expected {kind.__name__}, got {value!r}")
    return value


def _list(call: str, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise FerryResponseError(call, path, f"expected a list, got {type(value).__name__}")
    return value


def affiliation_members(unit: str, output: Any) -> tuple[AffiliationMember, ...]:
    """getAffiliationMembers?unitname=<unit>: a list with one entry per unit, each with its `users`."""
    call = f"getAffiliationMembers({unit})"
    members = []
    for i, entry in enumerate(_list(call, output, "$.ferry_output")):
        where = f"$.ferry_output[{i}]"
        if _get(call, entry, where, "unitname", str) != unit:
            continue
        for j, user in enumerate(_list(call, _get(call, entry, where, "users", list), f"{where}.users")):
            members.append(AffiliationMember(username=_get(call, user, f"{where}.users[{j}]", "username", str),
                                             uid=_get(call, user, f"{where}.users[{j}]", "uid", int)))
    return tuple(members)


def user_info(username: str, output: Any) -> UserInfo:
    """getUserInfo?username=<user>: one object."""
    call = f"getUserInfo({username})"
    return UserInfo(username=username, uid=_get(call, output, "$.ferry_output", "uid", int),
                    active=_get(call, output, "$.ferry_output", "status", bool),
                    banned=_get(call, output, "$.ferry_output", "banned", bool))


def user_groups(username: str, output: Any) -> tuple[UnixGroup, ...]:
    """getUserGroups?username=<user>: the groups the user is in; only UNIX groups carry a gid the pod can use."""
    call = f"getUserGroups({username})"
    groups = []
    for i, entry in enumerate(_list(call, output, "$.ferry_output")):
        where = f"$.ferry_output[{i}]"
        if _get(call, entry, where, "grouptype", str) != "UnixGroup":
            continue
        groups.append(UnixGroup(name=_get(call, entry, where, "groupname", str),
                                gid=_get(call, entry, where, "gid", int)))
    return tuple(groups)

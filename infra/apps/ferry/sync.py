"""The identity sync (the CronJob's program): FERRY's members of the configured units -> the identity map.

Run as `python -m ferry.sync SETTINGS.json` with the facility's client certificate at $FERRY_CLIENT_PEM. It reads
each unit's members, then each member's account and UNIX groups, and writes the map into the ConfigMap the hub reads
(a JSON merge patch through the pod's service account). A user is left out, with a line on stderr saying why, when
the account is inactive or banned, its UID is outside the site's range (the SCC would refuse the pod anyway), or it
is not in the primary group of its first unit. An answer that yields nobody at all is treated as FERRY's failure:
the previous map stays.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from .client import FerryClient, https_transport
from .model import Identity, IdentityMap

IDENTITIES_KEY = "identities.json"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class Unit:
    """A FERRY affiliation unit the sync reads; `vo` is the VO catalog group its members belong to (None: the
    generic profile's users, e.g. students or accelerator operations)."""

    unit: str
    primary_group: str
    vo: str | None


@dataclass(frozen=True)
class SyncSettings:
    ferry_url: str
    units: tuple[Unit, ...]
    uid_min: int
    uid_max: int
    namespace: str
    config_map: str

    @classmethod
    def from_json(cls, text: str) -> SyncSettings:
        document = json.loads(text)
        return cls(ferry_url=document["ferryUrl"], uid_min=document["uidRange"]["min"],
                   uid_max=document["uidRange"]["max"], namespace=document["namespace"],
                   config_map=document["configMap"],
                   units=tuple(Unit(u["unit"], u["primaryGroup"], u.get("vo")) for u in document["units"]))


def build_identities(client: FerryClient, settings: SyncSettings) -> tuple[IdentityMap, tuple[str, ...]]:
    """(the identity map, why each left-out user was left out)."""
    primary: dict[str, str] = {}  # user -> primary group name (of the first unit listing them)
    vos: dict[str, list[str]] = {}
    for unit in settings.units:
        for member in client.affiliation_members(unit.unit):
            primary.setdefault(member.username, unit.primary_group)
            user_vos = vos.setdefault(member.username, [])
            if unit.vo is not None and unit.vo not in user_vos:
                user_vos.append(unit.vo)
    users: dict[str, Identity] = {}
    left_out = []
    for username in sorted(primary):
        info = client.user_info(username)
        if not info.active or info.banned:
            left_out.append(f"{username}: {'banned' if info.banned else 'inactive'} in FERRY")
            continue
        if not settings.uid_min <= info.uid <= settings.uid_max:
            left_out.append(f"{username}: uid {info.uid} outside the site's range "
                            f"{settings.uid_min}-{settings.uid_max}")
            continue
        groups = client.user_groups(username)
        gids = {group.name: group.gid for group in groups}
        if primary[username] not in gids:
            left_out.append(f"{username}: not in its unit's primary group {primary[username]}")
            continue
        users[username] = Identity(uid=info.uid, gid=gids[primary[username]],
                                   groups=tuple(sorted(set(gids.values()))), vos=tuple(sorted(vos[username])))
    return IdentityMap(users), tuple(left_out)


def write_config_map(namespace: str, name: str, identities: IdentityMap) -> None:
    """Merge-patch the ConfigMap's one key through the in-cluster API (the Role allows `patch` of this one name)."""
    token = open(f"{SERVICE_ACCOUNT_DIR}/token", encoding="utf-8").read().strip()
    context = ssl.create_default_context(cafile=f"{SERVICE_ACCOUNT_DIR}/ca.crt")
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    body = json.dumps({"data": {IDENTITIES_KEY: identities.to_json()}}).encode()
    request = urllib.request.Request(f"https://{host}:{port}/api/v1/namespaces/{namespace}/configmaps/{name}",
                                     data=body, method="PATCH",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(request, context=context, timeout=60) as response:  # noqa: S310 (https only)
        response.read()


def run(client: FerryClient, settings: SyncSettings, write: Callable[[IdentityMap], None]) -> int:
    """One sync: the exit code of the Job (1 when FERRY yielded nobody: the previous map then stays)."""
    identities, left_out = build_identities(client, settings)
    for line in left_out:
        print(f"left out: {line}", file=sys.stderr)
    if not identities.users:
        print("FERRY yielded no user at all: the previous identity map stays", file=sys.stderr)
        return 1
    write(identities)
    print(f"identity map: {len(identities.users)} users, {len(left_out)} left out")
    return 0


def main(argv: list[str]) -> int:
    settings = SyncSettings.from_json(open(argv[1], encoding="utf-8").read())
    client = FerryClient(settings.ferry_url, https_transport(os.environ["FERRY_CLIENT_PEM"]))
    return run(client, settings, lambda identities: write_config_map(settings.namespace, settings.config_map,
                                                                     identities))


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""What KubeSpawner does with the identity map: the hub's `pre_spawn_hook` and `modify_pod_hook`.

The hub loads them with `hooks(SETTINGS.json)` (infra/apps/identity.py says where the files are mounted). Before a
spawn, the server's uid, primary gid and supplemental gids become the user's FERRY ones (a user without an
identity is refused: its server would otherwise run under a UID nobody owns files as). On the pod, the home area is
narrowed to the user's own directory (`/nashome/<user>`, a subPath of the area's claim) and each experiment area is
dropped unless the user is a member of its VO. This runs on the pod KubeSpawner built, after the profile's
overrides, so no profile can put an area back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Identity, IdentityMap


class NoIdentityError(RuntimeError):
    pass


@dataclass(frozen=True)
class HookSettings:
    identities_path: str  # the mounted identities.json of the ConfigMap the sync writes
    home_volume: str  # the pod volume of the home area (the storage app's claim name, e.g. nfs-nashome)
    home_mount_path: str  # where the area is mounted (/nashome): the user gets <path>/<user> only
    vo_volumes: dict[str, str]  # pod volume of an experiment area -> the VO whose members may mount it

    @classmethod
    def from_json(cls, text: str) -> HookSettings:
        document = json.loads(text)
        return cls(identities_path=document["identitiesPath"], home_volume=document["homeVolume"],
                   home_mount_path=document["homeMountPath"], vo_volumes=dict(document["voVolumes"]))


def identity_of(settings: HookSettings, username: str) -> Identity:
    try:
        with open(settings.identities_path, encoding="utf-8") as file:
            identities = IdentityMap.from_json(file.read())
    except FileNotFoundError:
        raise NoIdentityError(f"no identity map at {settings.identities_path} yet: the FERRY sync has not run "
                              "successfully (see the eaf-identity-sync Jobs' logs)") from None
    if username not in identities.users:
        raise NoIdentityError(f"{username} has no identity in FERRY's map (not a member of any unit the facility "
                              "syncs, inactive, banned or outside the site's UID range): ask the facility to add "
                              "the account to a FERRY unit")
    return identities.users[username]


def apply_identity(spawner: Any, identity: Identity) -> None:
    spawner.uid = identity.uid
    spawner.gid = identity.gid
    spawner.fs_gid = identity.gid
    spawner.supplemental_gids = list(identity.groups)


def narrow_mounts(settings: HookSettings, pod: Any, username: str, identity: Identity) -> Any:
    """The pod (kubernetes V1Pod) with the home area narrowed to the user and foreign experiment areas removed."""
    refused = {volume for volume, vo in settings.vo_volumes.items() if vo not in identity.vos}
    for container in pod.spec.containers:
        kept = []
        for mount in container.volume_mounts or []:
            if mount.name in refused:
                continue
            if mount.name == settings.home_volume:
                mount.sub_path = username
                mount.mount_path = f"{settings.home_mount_path.rstrip('/')}/{username}"
            kept.append(mount)
        container.volume_mounts = kept
    used = {mount.name for container in pod.spec.containers for mount in container.volume_mounts}
    pod.spec.volumes = [volume for volume in pod.spec.volumes or []
                        if volume.name not in refused or volume.name in used]
    return pod


def hooks(settings_path: str) -> tuple[Callable[[Any], None], Callable[[Any, Any], Any]]:
    """(pre_spawn_hook, modify_pod_hook) for c.KubeSpawner."""
    with open(settings_path, encoding="utf-8") as file:
        settings = HookSettings.from_json(file.read())

    def pre_spawn_hook(spawner: Any) -> None:
        apply_identity(spawner, identity_of(settings, spawner.user.name))

    def modify_pod_hook(spawner: Any, pod: Any) -> Any:
        username = spawner.user.name
        return narrow_mounts(settings, pod, username, identity_of(settings, username))

    return pre_spawn_hook, modify_pod_hook

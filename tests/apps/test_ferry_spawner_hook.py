"""What KubeSpawner does with the identity map: FERRY's uid/gid/groups, /nashome/<user> only, experiment areas only
for their VO's members. The pod is the kubernetes client's own V1Pod, as KubeSpawner hands it to modify_pod_hook."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kubernetes.client import (
    V1Container,
    V1PersistentVolumeClaimVolumeSource,
    V1Pod,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
)

from infra.apps.ferry.model import Identity, IdentityMap
from infra.apps.ferry.spawner_hook import NoIdentityError, hooks

ALICE = Identity(uid=51234, gid=5063, groups=(5063, 9010), vos=("dune",))
AREAS = {"nfs-nashome": "/nashome", "nfs-uscms-home": "/uscms/home", "cvmfs-cms-cern-ch": "/cvmfs/cms.cern.ch"}


@pytest.fixture
def spawn_hooks(tmp_path):
    identities = tmp_path / "identities.json"
    identities.write_text(IdentityMap({"alice": ALICE}).to_json(), encoding="utf-8")
    settings = tmp_path / "hook-settings.json"
    settings.write_text(f'{{"identitiesPath": "{identities}", "homeVolume": "nfs-nashome", "homeMountPath": '
                        '"/nashome", "voVolumes": {"nfs-uscms-home": "cms"}}', encoding="utf-8")
    return hooks(str(settings))


def _spawner(user: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(name=user), uid=None, gid=None, fs_gid=None, supplemental_gids=[])


def _pod() -> V1Pod:
    volumes = [V1Volume(name=name, persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(claim_name=name))
               for name in AREAS]
    mounts = [V1VolumeMount(name=name, mount_path=path) for name, path in AREAS.items()]
    return V1Pod(spec=V1PodSpec(containers=[V1Container(name="notebook", volume_mounts=mounts)], volumes=volumes))


def test_the_server_runs_as_the_users_ferry_uid_gid_and_groups(spawn_hooks):
    pre_spawn, _ = spawn_hooks
    spawner = _spawner("alice")
    pre_spawn(spawner)
    assert (spawner.uid, spawner.gid, spawner.fs_gid, spawner.supplemental_gids) == (51234, 5063, 5063, [5063, 9010])


def test_a_user_without_a_ferry_identity_gets_no_server(spawn_hooks):
    pre_spawn, _ = spawn_hooks
    with pytest.raises(NoIdentityError, match="mallory has no identity in FERRY's map"):
        pre_spawn(_spawner("mallory"))


def test_the_home_area_is_narrowed_to_the_users_own_directory(spawn_hooks):
    _, modify_pod = spawn_hooks
    pod = modify_pod(_spawner("alice"), _pod())
    home = next(m for m in pod.spec.containers[0].volume_mounts if m.name == "nfs-nashome")
    assert (home.mount_path, home.sub_path) == ("/nashome/alice", "alice")


def test_an_experiment_area_is_removed_for_a_user_outside_its_vo(spawn_hooks):
    _, modify_pod = spawn_hooks
    pod = modify_pod(_spawner("alice"), _pod())
    assert [m.name for m in pod.spec.containers[0].volume_mounts] == ["nfs-nashome", "cvmfs-cms-cern-ch"]
    assert [v.name for v in pod.spec.volumes] == ["nfs-nashome", "cvmfs-cms-cern-ch"]


def test_an_experiment_area_stays_for_its_vos_members(tmp_path):
    identities = tmp_path / "identities.json"
    identities.write_text(IdentityMap({"bob": Identity(51800, 5063, (5063,), ("cms",))}).to_json(), encoding="utf-8")
    settings = tmp_path / "hook-settings.json"
    settings.write_text(f'{{"identitiesPath": "{identities}", "homeVolume": "nfs-nashome", "homeMountPath": '
                        '"/nashome", "voVolumes": {"nfs-uscms-home": "cms"}}', encoding="utf-8")
    _, modify_pod = hooks(str(settings))
    pod = modify_pod(_spawner("bob"), _pod())
    assert "nfs-uscms-home" in [m.name for m in pod.spec.containers[0].volume_mounts]


def test_before_the_first_sync_nobody_gets_a_server(tmp_path):
    settings = tmp_path / "hook-settings.json"
    settings.write_text(f'{{"identitiesPath": "{tmp_path / "missing.json"}", "homeVolume": "nfs-nashome", '
                        '"homeMountPath": "/nashome", "voVolumes": {}}', encoding="utf-8")
    pre_spawn, _ = hooks(str(settings))
    with pytest.raises(NoIdentityError, match="the FERRY sync has not run successfully"):
        pre_spawn(_spawner("alice"))

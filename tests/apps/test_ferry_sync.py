"""The identity sync: FERRY's members of the stack's units -> the identity map the hub reads (recorded answers,
tests/fixtures/ferry, shaped after FERRY's documented API, not captured from the real service)."""

from __future__ import annotations

from infra.apps.ferry.model import Identity, IdentityMap
from infra.apps.ferry.sync import SyncSettings, Unit, build_identities, run
from tests.apps.ferry_recorded import BASE_URL, client

SETTINGS = SyncSettings(ferry_url=BASE_URL, units=(Unit("cms", "us_cms", "cms"), Unit("dune", "dune", "dune")),
                        uid_min=50000, uid_max=60000, namespace="jupyterhub", config_map="eaf-identities")


def test_a_member_gets_its_uid_its_first_units_primary_gid_all_its_unix_groups_and_its_vos():
    identities, _ = build_identities(client(), SETTINGS)
    assert identities.users["alice"] == Identity(uid=51234, gid=5063, groups=(5063, 5100, 9010), vos=("cms", "dune"))


def test_banned_inactive_out_of_range_and_primary_group_less_users_are_left_out_saying_why():
    identities, left_out = build_identities(client(), SETTINGS)
    assert sorted(identities.users) == ["alice", "bob"]
    assert left_out == ("carol: banned in FERRY", "dave: uid 70001 outside the site's range 50000-60000",
                        "erin: not in its unit's primary group us_cms", "frank: inactive in FERRY")


def test_a_unit_without_a_vo_gives_identities_without_vos_the_generic_profiles_users():
    settings = SyncSettings(ferry_url=BASE_URL, units=(Unit("dune", "dune", None),), uid_min=50000, uid_max=60000,
                            namespace="jupyterhub", config_map="eaf-identities")
    identities, _ = build_identities(client(), settings)
    assert identities.users["alice"].vos == ()


def test_the_identity_map_is_deterministic_and_reads_back():
    identities, _ = build_identities(client(), SETTINGS)
    again, _ = build_identities(client(), SETTINGS)
    assert identities.to_json() == again.to_json()
    assert IdentityMap.from_json(identities.to_json()) == identities


def test_a_sync_writes_the_map_once_and_succeeds():
    written = []
    assert run(client(), SETTINGS, written.append) == 0
    assert [sorted(m.users) for m in written] == [["alice", "bob"]]


def test_a_sync_that_yields_nobody_keeps_the_previous_map_and_fails_the_job():
    settings = SyncSettings(ferry_url=BASE_URL, units=(Unit("dune", "dune", "dune"),), uid_min=1000, uid_max=2000,
                            namespace="jupyterhub", config_map="eaf-identities")
    written = []
    assert run(client(), settings, written.append) == 1
    assert written == []

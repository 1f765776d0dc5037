"""The FERRY client against recorded answers (tests/fixtures/ferry: shaped after FERRY's documented API — its
status/error/output envelope and the payloads of getAffiliationMembers, getUserInfo, getUserGroups — not captured
from the real service)."""

from __future__ import annotations

import pytest

from infra.apps.ferry.client import FerryClient
from infra.apps.ferry.model import AffiliationMember, FerryError, FerryResponseError, UnixGroup, UserInfo
from tests.apps.ferry_recorded import client, recorded


def test_a_units_members_are_its_users_with_their_uids():
    assert client().affiliation_members("dune") == (AffiliationMember("alice", 51234),
                                                    AffiliationMember("frank", 54321))


def test_user_info_gives_the_uid_and_whether_the_account_may_be_used():
    assert client().user_info("carol") == UserInfo("carol", 52001, active=True, banned=True)


def test_only_unix_groups_count_as_the_users_groups():
    assert client().user_groups("alice") == (UnixGroup("us_cms", 5063), UnixGroup("dune", 9010),
                                             UnixGroup("cms_lpc_ana", 5100))


def test_ferrys_failure_is_raised_with_ferrys_own_message():
    with pytest.raises(FerryError, match=r"getUserInfo\(nobody\) failed: User nobody does not exist"):
        client().user_info("nobody")


def test_a_uid_that_is_not_a_number_is_refused_at_its_path():
    with pytest.raises(FerryResponseError, match=r"at \$\.ferry_output\.uid: expected int, got '51234'"):
        client().user_info("uid-as-text")


def test_a_body_that_is_not_json_is_refused_with_what_came_instead():
    with pytest.raises(FerryResponseError, match=r"getUserInfo\(html-login-page\): .*not JSON.*<html>"):
        client().user_info("html-login-page")


def test_json_without_ferrys_envelope_is_refused():
    with pytest.raises(FerryResponseError, match=r"no ferry_status: not FERRY's response envelope"):
        client().user_groups("not-an-envelope")


def test_the_client_asks_ferry_by_https_only():
    with pytest.raises(ValueError, match="only https"):
        FerryClient("http://ferry.example.org:8445", recorded)

"""The scan gate: severity threshold, allow-list entries by vulnerability and package, expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.images.builds import ALLOWLIST_FILE
from infra.images.scan_policy import AllowEntry, AllowList, AllowListError, judge, load_allowlist

TODAY = dt.date(2026, 3, 1)


def _match(vuln: str, severity: str, package: str, version: str = "1.0", fixed: tuple[str, ...] = ()) -> dict:
    return {"vulnerability": {"id": vuln, "severity": severity, "fix": {"versions": list(fixed)}},
            "artifact": {"name": package, "version": version}}


def _entry(vuln: str, package: str, expires: str) -> AllowEntry:
    return AllowEntry(id=vuln, package=package, reason="accepted by the facility's security contact",
                      expires=dt.date.fromisoformat(expires))


REPORT = {"matches": [_match("CVE-2024-0001", "Critical", "zlib1g", fixed=("1.3",)),
                      _match("CVE-2024-0002", "High", "openssl"),
                      _match("GHSA-c2qf-rxjj-qqgw", "Critical", "urllib3", "1.26.0")]}


def test_critical_findings_block_and_lower_ones_do_not():
    verdict = judge(REPORT, AllowList(), TODAY)
    assert not verdict.passed
    assert [f.id for f in verdict.blocking] == ["CVE-2024-0001", "GHSA-c2qf-rxjj-qqgw"]
    assert verdict.below_threshold == 1


def test_a_lower_threshold_blocks_high_findings_too():
    verdict = judge(REPORT, AllowList(fail_on="High"), TODAY)
    assert [f.id for f in verdict.blocking] == ["CVE-2024-0001", "CVE-2024-0002", "GHSA-c2qf-rxjj-qqgw"]


def test_current_entries_allow_exactly_their_vulnerability_in_their_package():
    allowlist = AllowList(allow=(_entry("CVE-2024-0001", "zlib1g", "2026-03-01"),
                                 _entry("GHSA-c2qf-rxjj-qqgw", "requests", "2027-01-01")))
    verdict = judge(REPORT, allowlist, TODAY)
    assert [f.id for f, _ in verdict.allowed] == ["CVE-2024-0001"]  # valid through its expiry day
    assert [f.package for f in verdict.blocking] == ["urllib3"]  # the entry names another package
    assert [e.package for e in verdict.unused] == ["requests"]


def test_an_expired_entry_fails_the_scan_even_when_nothing_matches_it():
    verdict = judge({"matches": []}, AllowList(allow=(_entry("CVE-2024-0009", "bash", "2026-02-28"),)), TODAY)
    assert not verdict.passed
    assert [e.id for e in verdict.expired] == ["CVE-2024-0009"]


def test_an_expired_entry_no_longer_allows_its_finding():
    verdict = judge(REPORT, AllowList(allow=(_entry("CVE-2024-0001", "zlib1g", "2026-02-28"),)), TODAY)
    assert "CVE-2024-0001" in [f.id for f in verdict.blocking]


def test_the_report_names_what_blocks_and_how_to_fix_an_expired_entry():
    allowlist = AllowList(allow=(_entry("CVE-2024-0003", "bash", "2026-01-01"),))
    text = judge(REPORT, allowlist, TODAY).render("Critical")
    assert text.splitlines()[0] == "image scan: FAILED (fails on Critical and above)"
    assert "BLOCKING Critical CVE-2024-0001 in zlib1g 1.0, fixed in 1.3" in text
    assert "EXPIRED allow-list entry CVE-2024-0003 in bash (expired 2026-01-01)" in text


def test_the_same_finding_reported_twice_counts_once():
    twice = {"matches": [REPORT["matches"][0], REPORT["matches"][0]]}
    assert len(judge(twice, AllowList(), TODAY).blocking) == 1


def test_the_repository_allow_list_loads_and_fails_on_critical():
    assert load_allowlist(ALLOWLIST_FILE).fail_on == "Critical"


@pytest.mark.parametrize(("body", "says"), [
    ("allow:\n  - {id: CVE-2024-1, package: zlib1g, reason: accepted by security, expires: 2026-01-01}\n",
     "allow.0.id"),
    ("allow:\n  - {id: CVE-2024-12345, package: zlib1g, reason: ok, expires: 2026-01-01}\n", "allow.0.reason"),
    ("allow:\n  - {id: CVE-2024-12345, package: zlib1g, reason: accepted by security}\n", "allow.0.expires"),
    ("failOn: Severe\n", "failOn"),
    ("allow:\n  - {id: CVE-2024-12345, package: zlib1g, reason: accepted by security, expires: 2026-01-01}\n"
     "  - {id: CVE-2024-12345, package: zlib1g, reason: accepted by security, expires: 2027-01-01}\n",
     "listed twice"),
])
def test_a_bad_allow_list_is_refused_with_the_entry_and_field(tmp_path, body, says):
    path = tmp_path / "allowlist.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(AllowListError, match=says.replace(".", r"\.")):
        load_allowlist(path)

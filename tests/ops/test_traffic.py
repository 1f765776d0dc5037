"""The service-name switch (infra/ops/traffic.py): a zone include file, and the site-DNS-by-request path."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.ops.traffic import ManualDnsSwitch, StepBlocked, ZoneFileSwitch, targets_for

TARGETS = {"jupyter.eaf.fnal.gov": "jupyter.apps.eaf-prod-b.fnal.gov"}


def test_targets_are_the_new_clusters_ingress_names() -> None:
    assert targets_for(["jupyter.eaf.fnal.gov", "grafana.eaf.fnal.gov"], "eaf-prod-b.fnal.gov") == {
        "jupyter.eaf.fnal.gov": "jupyter.apps.eaf-prod-b.fnal.gov",
        "grafana.eaf.fnal.gov": "grafana.apps.eaf-prod-b.fnal.gov",
    }


def test_a_zone_file_switch_writes_cname_records(tmp_path: Path) -> None:
    zone = tmp_path / "eaf-services.zone"
    switch = ZoneFileSwitch(zone)
    switch.point({"jupyter.eaf.fnal.gov": "jupyter.apps.eaf-prod-a.fnal.gov"})
    switch.point(TARGETS)
    assert switch.current("jupyter.eaf.fnal.gov") == "jupyter.apps.eaf-prod-b.fnal.gov"
    assert zone.read_text(encoding="utf-8").splitlines()[1:] == [
        "jupyter.eaf.fnal.gov. 300 IN CNAME jupyter.apps.eaf-prod-b.fnal.gov."]


def test_a_zone_file_switch_keeps_other_records(tmp_path: Path) -> None:
    zone = tmp_path / "eaf-services.zone"
    zone.write_text("docs.eaf.fnal.gov. 300 IN CNAME web.fnal.gov. ; the docs site\n", encoding="utf-8")
    ZoneFileSwitch(zone).point(TARGETS)
    assert ZoneFileSwitch(zone).records() == {"docs.eaf.fnal.gov": "web.fnal.gov", **TARGETS}


def test_the_manual_switch_asks_for_the_exact_records_and_waits() -> None:
    switch = ManualDnsSwitch(resolve=lambda name: ("jupyter.apps.eaf-prod-a.fnal.gov", [], ["10.42.32.5"]))
    with pytest.raises(StepBlocked) as blocked:
        switch.point(TARGETS)
    assert "jupyter.eaf.fnal.gov. IN CNAME jupyter.apps.eaf-prod-b.fnal.gov." in str(blocked.value)
    assert "re-run the same migration command" in str(blocked.value)


def test_the_manual_switch_continues_once_dns_says_so() -> None:
    switch = ManualDnsSwitch(resolve=lambda name: ("jupyter.apps.eaf-prod-b.fnal.gov.", [name], ["10.42.48.5"]))
    switch.point(TARGETS)  # no StepBlocked: the records already point at the new cluster
    assert switch.current("jupyter.eaf.fnal.gov") == "jupyter.apps.eaf-prod-b.fnal.gov"


def test_the_manual_switch_asks_the_real_resolver() -> None:
    # This machine's resolver: localhost is its own canonical name; an .invalid name never resolves.
    assert ManualDnsSwitch().current("localhost") == "localhost"
    assert ManualDnsSwitch().current("jupyter.eaf.invalid") is None

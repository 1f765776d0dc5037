"""The MR comment made from `pulumi preview --json` (infra/ops/preview_summary.py), on recorded previews.

Every `*.json` under tests/fixtures/preview/ is summarised (the recordings made by recorder/record.py, and any
`local-*.json` recorded from the local stack): each must summarise and match the engine's own counts. The
`recorded-*` files then get targeted assertions about what they are known to contain.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.ops.preview_summary import (
    COUNTED_OPS,
    SECRET_SIG,
    SECRET_SIG_KEY,
    load_preview,
    parse_preview,
    render,
    render_stack,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "preview"
RECORDINGS = sorted(FIXTURES.glob("*.json"))
OWN_RECORDINGS = ("recorded-changes", "recorded-no-changes", "recorded-protected-replace", "recorded-protected-delete")


def _summary(name: str) -> str:
    return render_stack(load_preview(name, FIXTURES / f"{name}.json"))


def _section(summary: str, title: str) -> str:
    """The bullet lines of one collapsible group, e.g. 'Update'."""
    match = re.search(rf"<summary>{title} \(\d+\)</summary>\n(.*?)</details>", summary, re.S)
    assert match, f"no {title!r} group in:\n{summary}"
    return match.group(1)


def test_the_recordings_are_all_there() -> None:
    names = {path.stem for path in RECORDINGS}
    assert set(OWN_RECORDINGS) <= names, f"missing recordings: {set(OWN_RECORDINGS) - names} in {FIXTURES}"


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_every_recording_summarises_with_the_engines_counts(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    preview = load_preview(path.stem, path)
    engine = document.get("changeSummary", {})
    assert preview.counts == {op: engine.get(op, 0) for op in COUNTED_OPS}, path.name
    headline = render_stack(preview).splitlines()[0]
    for op in COUNTED_OPS:
        if engine.get(op):
            assert f"{engine[op]} to {op}" in headline, f"{path.name}: {headline}"


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_every_completed_recordings_steps_add_up_to_the_engines_counts(path: Path) -> None:
    # The listed steps are counted independently of changeSummary: for a preview that completed, they must agree.
    document = json.loads(path.read_text(encoding="utf-8"))
    preview = load_preview(path.stem, path)
    if preview.failed:
        assert "PREVIEW FAILED" in render_stack(preview), path.name
        return
    engine = document.get("changeSummary", {})
    assert preview.step_counts == {op: engine.get(op, 0) for op in COUNTED_OPS}, path.name


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_every_recordings_summary_shows_no_secret_value(path: Path) -> None:
    summary = render_stack(load_preview(path.stem, path))
    assert "[secret]" not in summary, summary  # a masked value would mean values are printed at all
    assert "recorder-secret" not in summary


def test_stateful_replacements_and_deletions_come_first() -> None:
    summary = _summary("recorded-changes")
    lines = summary.splitlines()
    at_risk = lines.index(next(line for line in lines if "DATA AT RISK" in line))
    first_group = lines.index(next(line for line in lines if line.startswith("<details>")))
    assert at_risk < first_group, summary
    risky = "\n".join(lines[at_risk:first_group])
    assert "**REPLACE** `scratch-disk`" in risky and "replaced because of `sizeGiB`" in risky, risky
    assert "**DELETE** `user-home-pvc`" in risky, risky


def test_stateless_changes_are_grouped_by_operation() -> None:
    summary = _summary("recorded-changes")
    assert "`extra-dns-record`" in _section(summary, "Create") and "`gpu-worker-0`" in _section(summary, "Create")
    assert "`controller-0` (pulumi-python:dynamic:Resource): `vcpu`" in _section(summary, "Update")
    assert "`worker-2`" in _section(summary, "Replace") and "replaced because of `kind`" in _section(summary, "Replace")
    assert "`old-dns-record`" in _section(summary, "Delete")


def test_an_in_place_update_of_a_protected_volume_is_not_data_at_risk() -> None:
    summary = _summary("recorded-changes")
    assert "`hub-db-volume` (pulumi-python:dynamic:Resource): `label`" in _section(summary, "Update")
    assert "**UPDATE**" not in summary


def test_a_changed_secret_input_is_named_but_not_shown() -> None:
    summary = _summary("recorded-changes")
    assert "`lb-config` (pulumi-python:dynamic:Resource): `password` (secret)" in _section(summary, "Update")


def test_a_protected_volume_replacement_is_listed_first_and_the_refusal_shown() -> None:
    summary = _summary("recorded-protected-replace")
    assert "PREVIEW FAILED" in summary.splitlines()[0]
    first_risk = next(line for line in summary.splitlines() if line.startswith("- **"))
    assert first_risk.startswith("- **REPLACE** `hub-db-volume`"), summary
    assert "protected" in first_risk and "replaced because of `sizeGiB`" in first_risk
    assert "unable to replace resource" in summary and "marked for protection" in summary


def test_a_refused_protected_deletion_is_shown_although_the_engine_did_not_count_it() -> None:
    preview = load_preview("recorded-protected-delete", FIXTURES / "recorded-protected-delete.json")
    summary = render_stack(preview)
    assert preview.counts["delete"] == 0 and preview.step_counts["delete"] == 1
    assert "- **DELETE** `hub-db-volume` (pulumi-python:dynamic:Resource) — protected" in summary, summary
    assert "(+1 delete)" in summary and "cannot be deleted" in summary


def test_no_changes_says_so_without_alarm() -> None:
    summary = _summary("recorded-no-changes")
    assert summary == "### Stack `recorded-no-changes`: no changes\n"


def _step(op: str, resource_type: str, name: str, old: dict | None = None, new: dict | None = None,
          protect: bool = False, **extra) -> dict:
    urn = f"urn:pulumi:prod-a::eaf::{resource_type}::{name}"
    step = {"op": op, "urn": urn, **extra}
    if old is not None:
        step["oldState"] = {"type": resource_type, "inputs": old, "protect": protect}
    if new is not None:
        step["newState"] = {"type": resource_type, "inputs": new, "protect": protect}
    return step


def test_engine_wire_secrets_are_named_but_never_printed() -> None:
    def wrapped(value: str) -> dict:
        return {SECRET_SIG_KEY: SECRET_SIG, "value": value}

    step = _step("update", "kubernetes:core/v1:Secret", "eaf-apps/hub-db",
                 old={"stringData": wrapped("old-plaintext-pw")}, new={"stringData": wrapped("new-plaintext-pw")})
    summary = render_stack(parse_preview("prod-a", {"steps": [step]}))
    assert "`stringData` (secret)" in summary, summary
    assert "plaintext-pw" not in summary


def test_kubernetes_claims_and_statefulsets_are_stateful_by_type() -> None:
    steps = [
        _step("delete", "kubernetes:core/v1:PersistentVolumeClaim", "eaf-apps/hub-db", old={}),
        _step("replace", "kubernetes:apps/v1:StatefulSet", "eaf-apps/postgres", old={}, new={},
              replaceReasons=["spec"]),
        _step("delete", "kubernetes:core/v1:ConfigMap", "eaf-storage/cvmfs-default-local", old={}),
    ]
    preview = parse_preview("prod-a", {"steps": steps})
    at_risk = {change.name: change.stateful_because for change in preview.changes if change.destructive}
    assert at_risk == {
        "eaf-apps/hub-db": ("type kubernetes:core/v1:PersistentVolumeClaim",),
        "eaf-apps/postgres": ("type kubernetes:apps/v1:StatefulSet",),
    }


def test_libvirt_volumes_of_the_native_backend_are_stateful_by_name() -> None:
    steps = [_step("replace", "pulumi-python:dynamic:Resource",
                   "okd-proda-hv01-volume-eaf-prod-a-worker-2-data.qcow2", old={}, new={}, protect=True)]
    change = parse_preview("prod-a", {"steps": steps}).changes[0]
    assert change.destructive and change.protected
    assert change.stateful_because == ("name: data, volume",)


def test_a_native_libvirt_volume_is_stateful_by_its_kinds_type_and_named_by_kind() -> None:
    steps = [_step("replace", "pulumi-python:dynamic/libvirt:Volume", "okd-proda-hv01-volume-eaf-prod-a-ctrl-0.qcow2",
                   old={}, new={}, protect=True),
             _step("update", "pulumi-python:dynamic/libvirt:Domain", "okd-proda-hv01-domain-eaf-prod-a-ctrl-0",
                   old={"vcpu": 38}, new={"vcpu": 40})]
    preview = parse_preview("prod-a", {"steps": steps})
    volume, domain = preview.changes
    assert "type pulumi-python:dynamic/libvirt:Volume" in volume.stateful_because and volume.destructive
    assert domain.stateful_because == ()
    summary = render_stack(preview)
    assert "`okd-proda-hv01-domain-eaf-prod-a-ctrl-0` (pulumi-python:dynamic/libvirt:Domain): `vcpu`" in summary


def test_stacks_with_data_at_risk_or_errors_come_first_in_the_comment() -> None:
    calm = parse_preview("dev", {"steps": [_step("create", "eaf:libvirt:ClusterNode", "worker-3", new={})]})
    risky = parse_preview("prod-b", {"steps": [_step("delete", "pulumi-python:dynamic:Resource", "hub-db-volume",
                                                     old={})]})
    comment = render([calm, risky])
    assert comment.index("### Stack `prod-b`") < comment.index("### Stack `dev`"), comment


def test_a_preview_without_change_summary_counts_its_steps() -> None:
    steps = [_step("create", "eaf:libvirt:ClusterNode", "worker-3", new={}),
             _step("same", "eaf:libvirt:ClusterNode", "worker-2", old={}, new={})]
    preview = parse_preview("dev", {"steps": steps})
    assert preview.counts == {"create": 1, "update": 0, "replace": 0, "delete": 0}


def test_an_empty_preview_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "dev.json"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty: `pulumi preview --json` printed nothing for stack dev"):
        load_preview("dev", empty)

"""The bootstrap node: OKD's bootstrap.ign re-emitted with gzip file contents, plus the node specifics."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ignition.bootstrap import compressed_contents
from ignition.node import keyfile_path
from ignition.render import render_node
from infra.stages import ignition_input
from tests.ignition.decode import Decoded, resource_bytes
from tests.ignition.support import SSH_KEYS, install_off_configs, loaded_stack, okd_fixture_configs

# What the bootstrap config may weigh. QEMU's fw_cfg takes far more, but under TCG the guest's read time grows
# with the square of the size (1 MiB: 6 s; 310 KB: 0.5 s), so the budget is a few hundred KB.
BOOTSTRAP_BUDGET_BYTES = 300 * 1024


def _bootstrap(stack: str = "dev", okd=None) -> str:
    loaded = loaded_stack(stack)
    return render_node(ignition_input(loaded), loaded.plan.node("bootstrap"), okd or okd_fixture_configs(), SSH_KEYS)


def _okd_document() -> dict:
    return json.loads(okd_fixture_configs().bootstrap)


def test_every_okd_file_is_kept_with_the_same_contents_mode_and_owner():
    ours = Decoded.of(_bootstrap()).files()
    for entry in _okd_document()["storage"]["files"]:
        path = entry["path"]
        assert path in ours, f"dev/bootstrap: OKD's {path} is missing"
        got, want = ours[path], entry
        assert resource_bytes(got["contents"]) == resource_bytes(want["contents"]), f"dev/bootstrap: {path} changed"
        assert (got["mode"], got["user"], got["overwrite"]) == (want["mode"], want["user"], want["overwrite"]), path


def test_every_okd_file_is_a_gzip_data_url():
    ours = Decoded.of(_bootstrap()).files()
    for entry in _okd_document()["storage"]["files"]:
        contents = ours[entry["path"]]["contents"]
        assert contents["compression"] == "gzip" and contents["source"].startswith("data:;base64,H4sI"), entry["path"]


def test_okd_units_are_kept_unchanged():
    assert Decoded.of(_bootstrap()).document["systemd"] == _okd_document()["systemd"], "dev/bootstrap: units changed"


def test_pull_secret_file_reads_back_as_okd_wrote_it():
    text = Decoded.of(_bootstrap()).file_text("/root/.docker/config.json")
    assert json.loads(text)["auths"], "dev/bootstrap: /root/.docker/config.json lost its auths"


def test_core_keeps_okds_key_and_gets_the_stack_keys_in_one_entry():
    users = Decoded.of(_bootstrap()).document["passwd"]["users"]
    okd_keys = _okd_document()["passwd"]["users"][0]["sshAuthorizedKeys"]
    assert [u["name"] for u in users] == ["core"], f"dev/bootstrap: users {[u['name'] for u in users]}"
    assert users[0]["sshAuthorizedKeys"] == okd_keys + list(SSH_KEYS), users[0]["sshAuthorizedKeys"]


def test_bootstrap_gets_the_node_specifics_too():
    loaded = loaded_stack("dev")
    config = Decoded.of(_bootstrap())
    node = loaded.plan.node("bootstrap")
    assert config.file_text("/etc/hostname") == f"{node.hostname}\n", "dev/bootstrap hostname"
    assert f"address1={node.ip}/" in config.file_text(keyfile_path(loaded.plan.network)), "dev/bootstrap keyfile"


def test_a_path_okd_also_writes_is_written_once_with_the_nodes_value():
    okd = okd_fixture_configs()
    document = json.loads(okd.bootstrap)
    document["storage"]["files"].append({"path": "/etc/hostname", "contents": {"source": "data:,okd-bootstrap"}})
    config = Decoded.of(_bootstrap(okd=dataclasses.replace(okd, bootstrap=json.dumps(document))))
    paths = [f["path"] for f in config.document["storage"]["files"]]
    assert paths.count("/etc/hostname") == 1, "dev/bootstrap: /etc/hostname twice (Ignition refuses that)"
    assert config.file_text("/etc/hostname") == "bootstrap\n", "dev/bootstrap: the node's hostname must win"


def test_with_install_off_the_bootstrap_node_gets_only_its_specifics():
    loaded = loaded_stack("local")
    config = Decoded.of(render_node(ignition_input(loaded), loaded.plan.node("bootstrap"), install_off_configs(loaded),
                                    SSH_KEYS))
    assert sorted(config.files()) == sorted(["/etc/hostname", keyfile_path(loaded.plan.network)]), "local/bootstrap"
    assert "config" not in config.document["ignition"], "local/bootstrap: nothing to merge without an install"


def test_bootstrap_config_stays_within_the_fw_cfg_budget_and_reports_its_sizes(capsys):
    raw = len(okd_fixture_configs().bootstrap.encode())
    compressed = len(_bootstrap().encode())
    with capsys.disabled():
        print(f"\nbootstrap.ign fixture: raw {raw} B, re-emitted {compressed} B ({compressed / raw:.0%})")
    assert compressed <= BOOTSTRAP_BUDGET_BYTES, f"dev/bootstrap: {compressed} B > budget {BOOTSTRAP_BUDGET_BYTES} B"
    assert compressed < raw / 2, f"dev/bootstrap: compression saved too little: {raw} B -> {compressed} B"


def test_a_broken_bootstrap_document_is_refused_without_showing_its_text():
    okd = dataclasses.replace(okd_fixture_configs(), bootstrap='{"pullSecret": "s3cr3t"')
    with pytest.raises(ValueError) as caught:
        _bootstrap(okd=okd)
    assert "not an Ignition document" in str(caught.value) and "s3cr3t" not in str(caught.value), str(caught.value)


def test_contents_already_compressed_are_left_as_they_are():
    contents = {"source": "data:;base64,H4sIAAAAAAAC/w==", "compression": "gzip"}
    assert compressed_contents(contents) == contents


def test_remote_contents_are_left_as_they_are():
    contents = {"source": "https://mirror.example/file"}
    assert compressed_contents(contents) == contents


def test_contents_with_a_verification_hash_are_left_as_they_are():
    contents = {"source": "data:,abc", "verification": {"hash": "sha512-00"}}
    assert compressed_contents(contents) == contents


def test_inline_contents_read_back_identical_after_compression():
    contents = {"source": "data:text/plain;charset=utf-8;base64,aGVsbG8gd29ybGQK"}
    assert resource_bytes(compressed_contents(contents)) == b"hello world\n"

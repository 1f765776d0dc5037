"""`python -m infra render --stack STACK --out DIR`: one `<node>.ign` per node, as the program would boot them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ignition.render import render_stack
from infra.stages import ignition_input
from tests.harness import PROJECT_DIR
from tests.ignition.support import OKD_FIXTURES, SSH_KEYS, install_off_configs, loaded_stack, okd_fixture_configs


def _render(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-m", "infra", "render", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def keys_file(tmp_path):
    path = tmp_path / "keys.pub"
    path.write_text("# team keys\n" + "\n".join(SSH_KEYS) + "\n", encoding="utf-8")
    return path


def test_render_writes_one_file_per_node_equal_to_what_the_program_renders(tmp_path, keys_file):
    out = tmp_path / "dev"
    result = _render("--stack", "dev", "--out", str(out), "--okd-assets", str(OKD_FIXTURES),
                     "--ssh-public-keys", str(keys_file))
    assert result.returncode == 0, result.stderr
    want = render_stack(ignition_input(loaded_stack("dev")), okd_fixture_configs(), SSH_KEYS)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.ign" for n in want), f"dev: {list(out.iterdir())}"
    for name, text in want.items():
        assert (out / f"{name}.ign").read_text(encoding="utf-8") == text, f"dev/{name}: file differs from render"


def test_render_without_okd_assets_uses_the_machine_config_server_pointers(tmp_path, keys_file):
    out = tmp_path / "local"
    result = _render("--stack", "local", "--out", str(out), "--ssh-public-keys", str(keys_file))
    assert result.returncode == 0, result.stderr
    loaded = loaded_stack("local")
    want = render_stack(ignition_input(loaded), install_off_configs(loaded), SSH_KEYS)
    got = {p.stem: p.read_text(encoding="utf-8") for p in out.glob("*.ign")}
    assert got == want, f"local: rendered {sorted(got)} differ from {sorted(want)}"
    assert "pointers to the machine-config server" in result.stdout, result.stdout


def test_rendered_files_are_private_because_bootstrap_holds_the_pull_secret(tmp_path):
    out = tmp_path / "dev"
    assert _render("--stack", "dev", "--out", str(out), "--okd-assets", str(OKD_FIXTURES)).returncode == 0
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert set(modes.values()) == {0o600}, f"dev: modes {modes}"


def test_render_removes_files_of_nodes_the_stack_no_longer_has(tmp_path):
    out = tmp_path / "local"
    out.mkdir()
    (out / "worker-9.ign").write_text("{}", encoding="utf-8")
    result = _render("--stack", "local", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not (out / "worker-9.ign").exists(), f"local: stale worker-9.ign kept; stdout: {result.stdout}"


def test_render_of_an_unknown_stack_fails_saying_which_file_is_missing(tmp_path):
    result = _render("--stack", "nosuch", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "Pulumi.nosuch.yaml does not exist" in result.stderr, result.stderr


def test_render_of_the_baseline_fails_with_the_config_error(tmp_path):
    result = _render("--stack", "prod", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "shared baseline" in result.stderr, result.stderr
    assert not (tmp_path / "x").exists(), "nothing may be written for a bad stack"


def test_two_renders_in_separate_processes_are_byte_identical(tmp_path):
    """Different hash seeds, same bytes: no set/dict iteration order, time or randomness leaks into the output."""
    first, second = tmp_path / "a", tmp_path / "b"
    for out, seed in ((first, "1"), (second, "2")):
        assert _render("--stack", "dev", "--out", str(out), "--okd-assets", str(OKD_FIXTURES),
                       hash_seed=seed).returncode == 0
    differing = [p.name for p in sorted(first.iterdir()) if p.read_bytes() != (second / p.name).read_bytes()]
    assert not differing, f"dev: renders differ in {differing}"


def test_render_expand_writes_each_nodes_files_and_units_readable(tmp_path):
    out = tmp_path / "dev"
    result = _render("--stack", "dev", "--out", str(out), "--okd-assets", str(OKD_FIXTURES), "--expand")
    assert result.returncode == 0, result.stderr
    assert (out / "lb-0.d/files/etc/hostname").read_text() == "lb-0\n", "dev/lb-0 hostname"
    assert "server ctrl-0 " in (out / "lb-0.d/files/etc/haproxy/haproxy.cfg").read_text(), "dev/lb-0 haproxy.cfg"
    assert (out / "lb-0.d/units/haproxy.service").read_text().startswith("# HAProxy"), "dev/lb-0 unit"
    assert "22623/config/master" in (out / "ctrl-0.d/merged-0.ign").read_text(), "dev/ctrl-0 merged pointer"
    assert (out / "gpu-0.d/kernel-arguments").read_text().split() == ["rd.driver.blacklist=nouveau",
                                                                       "modprobe.blacklist=nouveau"], "dev/gpu-0"
    pull_secret = out / "bootstrap.d/files/root/.docker/config.json"
    assert stat.S_IMODE(pull_secret.stat().st_mode) == 0o600, f"dev/bootstrap: {pull_secret} is not private"


def test_render_refuses_okd_assets_made_for_another_cluster(tmp_path):
    """The fixture assets are dev's: their pointers name dev's machine-config server."""
    out = tmp_path / "prod-a"
    result = _render("--stack", "prod-a", "--out", str(out), "--okd-assets", str(OKD_FIXTURES))
    assert result.returncode == 2, result.stderr
    assert "are not stack prod-a's cluster" in result.stderr, result.stderr
    assert "not at https://api-int.eaf-prod-a.fnal.gov:22623/config/master" in result.stderr, result.stderr
    assert not out.exists() or not list(out.iterdir()), "nothing is written"


def test_render_refuses_assets_whose_metadata_names_another_cluster(tmp_path):
    import json
    import shutil

    assets = tmp_path / "assets"
    shutil.copytree(OKD_FIXTURES, assets)
    (assets / "metadata.json").write_text(json.dumps({"clusterName": "eaf-prod-b"}))
    result = _render("--stack", "dev", "--out", str(tmp_path / "dev"), "--okd-assets", str(assets))
    assert result.returncode == 2 and "names cluster 'eaf-prod-b', the stack's is 'eaf-dev'" in result.stderr, \
        result.stderr

"""OKD's documented minimums are data (infra/data/node-sizing.yaml) keyed by the role table's okdMachine: every
pinned release has its row, every GPU model its memory, and the stacks sit at or above them."""

from __future__ import annotations

import pytest

from infra.catalog import node_sizing, versions
from infra.paths import PROJECT_DIR
from infra.plan.model import Role
from infra.plan.roles import role_info
from infra.spec.errors import ConfigError
from infra.spec.hosts import GpuModel
from infra.spec.layering import deep_merge, read_stack_file
from infra.spec.load import load_spec
from tests.harness import TEST_SECRETS


def test_every_pinned_release_has_its_documented_minimums():
    for release in versions().okd.releases:
        minor, sizing = node_sizing().for_release(release)
        assert sizing is not None, f"infra/data/node-sizing.yaml has no row for OKD {minor} ({release})"
        assert sizing.source.startswith(f"https://docs.okd.io/{minor}/"), sizing.source


def test_every_role_okd_runs_on_names_a_machine_kind_of_every_release():
    for role in Role:
        info = role_info(role)
        if info.cluster_node:
            assert info.okd_machine is not None, f"roles.yaml: {role.value} is a cluster node without okdMachine"
        for sizing in node_sizing().okd.values():
            assert info.okd_machine is None or info.okd_machine in sizing.machines, (role, info.okd_machine)


def test_every_gpu_model_has_its_memory():
    assert set(node_sizing().gpus.memory_gib) == {model.value for model in GpuModel}
    assert node_sizing().gpus.headroom_machine in next(iter(node_sizing().okd.values())).machines


def _load(stack: str, overrides: dict):
    own = deep_merge({**read_stack_file(PROJECT_DIR, stack), **TEST_SECRETS}, overrides)
    return load_spec(stack, own, PROJECT_DIR, secret_keys=set(TEST_SECRETS))


def test_dev_sits_exactly_at_the_control_plane_minimum_and_just_below_is_refused():
    _load("dev", {"nodes": {"controllers": {"vcpu": 4, "memoryGiB": 16, "diskGiB": 100}}})
    with pytest.raises(ConfigError) as raised:
        _load("dev", {"nodes": {"controllers": {"memoryGiB": 15.5}}})
    assert [p.path for p in raised.value.problems] == ["eaf:nodes.controllers.memoryGiB"]


def test_the_local_stack_installs_no_okd_so_its_tiny_vms_are_not_held_to_okd_minimums():
    assert _load("local", {}).plan.node("ctrl-0").memory_mib == 512
    with pytest.raises(ConfigError) as raised:
        _load("local", {"okd": {"install": {"enabled": True}}})
    assert "eaf:nodes.controllers.memoryGiB = 0.5" in str(raised.value)


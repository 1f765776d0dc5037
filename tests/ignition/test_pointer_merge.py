"""Controllers and workers merge OKD's role pointer byte-for-byte; GPU workers add kernel arguments."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ignition.render import render_node, render_stack
from infra.plan.model import Role
from infra.stages import ignition_input
from tests.ignition.decode import Decoded
from tests.ignition.support import SSH_KEYS, loaded_stack, okd_fixture_configs


def _decoded(stack: str = "dev") -> dict[str, Decoded]:
    configs = render_stack(ignition_input(loaded_stack(stack)), okd_fixture_configs(), SSH_KEYS)
    return {name: Decoded.of(text) for name, text in configs.items()}


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b", "local"])
def test_controllers_merge_the_master_pointer_unchanged(stack):
    plan = loaded_stack(stack).plan
    configs = _decoded(stack)
    for node in plan.by_role(Role.CONTROLLER):
        merged = configs[node.name].merged_configs()
        assert merged == [okd_fixture_configs().master_pointer], f"{stack}/{node.name}: merges {len(merged)} config(s)"


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b", "local"])
def test_workers_and_gpu_workers_merge_the_worker_pointer_unchanged(stack):
    plan = loaded_stack(stack).plan
    configs = _decoded(stack)
    for node in plan.by_role(Role.WORKER, Role.GPU_WORKER):
        merged = configs[node.name].merged_configs()
        assert merged == [okd_fixture_configs().worker_pointer], f"{stack}/{node.name}"


def test_pointer_is_embedded_as_a_gzip_data_url():
    source = _decoded()["ctrl-0"].document["ignition"]["config"]["merge"][0]
    assert source["compression"] == "gzip" and source["source"].startswith("data:;base64,H4sI"), f"dev/ctrl-0: {source}"


def test_merged_pointer_still_names_the_machine_config_server_and_its_ca():
    pointer = json.loads(_decoded()["worker-1"].merged_configs()[0])
    assert pointer["ignition"]["config"]["merge"][0]["source"] == "https://api-int.eaf-dev.fnal.gov:22623/config/worker"
    assert pointer["ignition"]["security"]["tls"]["certificateAuthorities"], "dev/worker-1: the CA is gone"


def test_gpu_workers_get_the_nouveau_blacklist_kernel_arguments_on_spec_3_3():
    configs = _decoded()
    for node in loaded_stack("dev").plan.by_role(Role.GPU_WORKER):
        config = configs[node.name]
        got = (config.version, config.kernel_arguments())
        want = ("3.3.0", ["rd.driver.blacklist=nouveau", "modprobe.blacklist=nouveau"])
        assert got == want, f"dev/{node.name}: {got}"


def test_nodes_other_than_gpu_workers_stay_on_okds_spec_3_2_without_kernel_arguments():
    configs = _decoded()
    for node in loaded_stack("dev").plan.nodes:
        if node.role is not Role.GPU_WORKER:
            got = (configs[node.name].version, configs[node.name].kernel_arguments())
            assert got == ("3.2.0", []), f"dev/{node.name}: {got}"


def test_a_pointer_that_is_not_ignition_is_refused_with_its_role():
    loaded = loaded_stack("dev")
    bad = dataclasses.replace(okd_fixture_configs(), master_pointer="not json")
    with pytest.raises(ValueError, match="master pointer config is not an Ignition document"):
        render_node(ignition_input(loaded), loaded.plan.node("ctrl-0"), bad, SSH_KEYS)


def test_a_pointer_of_an_unreadable_spec_version_is_refused():
    loaded = loaded_stack("dev")
    future = '{"ignition":{"version":"3.5.0"}}'
    bad = dataclasses.replace(okd_fixture_configs(), worker_pointer=future)
    with pytest.raises(ValueError, match="worker pointer config has Ignition spec 3.5.0"):
        render_node(ignition_input(loaded), loaded.plan.node("worker-0"), bad, SSH_KEYS)

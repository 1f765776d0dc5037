"""Huge inputs end in a short message, quickly: 20 000 list entries or pins are counted, not listed, and a count
of a billion nodes is refused before anything is planned (100 000 workers used to make a 55 MB message)."""

from __future__ import annotations

import time

import pytest

from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError
from infra.spec.layering import read_stack_file
from infra.spec.load import load_spec
from tests.harness import TEST_SECRETS

HUGE = 20_000
# Seconds of CPU for 20 000 problems: linear work takes ~2-3 s here; a quadratic walk or a full render takes minutes.
CPU_BUDGET = 8


def _refused(overrides: dict) -> tuple[str, float]:
    own = {**read_stack_file(PROJECT_DIR, "dev"), **TEST_SECRETS, **overrides}
    started = time.process_time()
    with pytest.raises(ConfigError) as raised:
        load_spec("dev", own, PROJECT_DIR, secret_keys=set(TEST_SECRETS))
    return str(raised.value), time.process_time() - started


def test_a_list_of_20000_entries_gives_a_short_message():
    message, cpu = _refused({"network": {**read_stack_file(PROJECT_DIR, "dev")["network"],
                                         "dnsServers": ["131.225.0.254"] * HUGE}})
    assert f"{HUGE - 1} config problem(s)" in message
    assert f"and {HUGE - 1 - 3} more of the same kind as eaf:network.dnsServers[N]" in message
    assert len(message) < 5_000, len(message)
    assert cpu < CPU_BUDGET, f"{cpu:.1f} s of CPU"


def test_20000_pins_of_nodes_that_do_not_exist_give_a_short_message():
    nodes = read_stack_file(PROJECT_DIR, "dev")["nodes"]
    pins = {f"worker-{i}": {"hostname": f"w{i}"} for i in range(10, 10 + HUGE)}
    message, cpu = _refused({"nodes": {**nodes, "workers": {**nodes["workers"], "nodes": pins}}})
    assert f"{HUGE} config problem(s)" in message and "no such node: the group has count 3" in message
    assert len(message) < 5_000, len(message)
    assert cpu < CPU_BUDGET, f"{cpu:.1f} s of CPU"


def test_a_huge_count_is_refused_before_planning():
    message, cpu = _refused({"nodes": {**read_stack_file(PROJECT_DIR, "dev")["nodes"],
                                       "workers": {"count": 10**9, "vcpu": 2, "memoryGiB": 8, "diskGiB": 100}}})
    assert "eaf:nodes.workers.count = 1000000000" in message and "more than the 2000 nodes" in message
    assert cpu < 1, f"{cpu:.1f} s of CPU"

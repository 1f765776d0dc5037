"""prod-a and prod-b build on the baseline Pulumi.prod.yaml; the stack's own config always wins."""

from __future__ import annotations

from infra.spec.layering import deep_merge, layered, read_stack_file
from tests.harness import PROJECT_DIR, run_stack


def test_mappings_merge_key_by_key():
    assert deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}}


def test_lists_are_replaced_whole():
    assert deep_merge({"hosts": [1, 2, 3]}, {"hosts": [4]}) == {"hosts": [4]}


def test_merge_does_not_mutate_its_inputs():
    base, over = {"a": {"x": [1]}}, {"a": {"y": 2}}
    deep_merge(base, over)["a"]["x"].append(9)
    assert base == {"a": {"x": [1]}} and over == {"a": {"y": 2}}


def test_prod_stack_files_hold_only_what_differs_from_the_baseline():
    for stack in ("prod-a", "prod-b"):
        own = read_stack_file(PROJECT_DIR, stack)
        assert set(own) == {"baseline", "cluster", "hosts", "network"}, f"{stack}: {sorted(own)}"
        assert set(own["cluster"]) == {"name", "role"}, f"{stack}: {own['cluster']}"
        assert set(own["network"]) == {"cidr", "gateway"}, f"{stack}: {own['network']}"


def test_prod_stacks_inherit_the_baseline_node_shapes():
    for stack in ("prod-a", "prod-b"):
        merged, baseline = layered(PROJECT_DIR, read_stack_file(PROJECT_DIR, stack))
        assert baseline == "prod"
        assert merged["nodes"]["controllers"] == {"count": 3, "vcpu": 38, "memoryGiB": 180, "diskGiB": 500}
        assert merged["network"]["mode"] == "bridge" and merged["network"]["mtu"] == 9000, stack
        assert merged["cluster"]["baseDomain"] == "fnal.gov"
        assert "layer" not in merged, "the baseline's own marker must not leak into the stacks built on it"


def test_stack_config_wins_over_the_baseline():
    run = run_stack("prod-a", overrides={"nodes": {"workers": {"count": 2}}})
    placement = run.outputs["placement"]
    assert "worker-1" in placement and "worker-2" not in placement, placement


def test_prod_a_and_prod_b_are_one_active_one_spare():
    roles = {
        s: layered(PROJECT_DIR, read_stack_file(PROJECT_DIR, s))[0]["cluster"]["role"] for s in ("prod-a", "prod-b")
    }
    assert sorted(roles.values()) == ["active", "spare"], roles


def test_prod_clusters_do_not_share_hosts_names_or_addresses():
    a = layered(PROJECT_DIR, read_stack_file(PROJECT_DIR, "prod-a"))[0]
    b = layered(PROJECT_DIR, read_stack_file(PROJECT_DIR, "prod-b"))[0]
    assert a["cluster"]["name"] != b["cluster"]["name"]
    assert a["network"]["cidr"] != b["network"]["cidr"]
    assert not {h["uri"] for h in a["hosts"]} & {h["uri"] for h in b["hosts"]}

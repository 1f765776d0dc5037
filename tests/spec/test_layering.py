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


# -- stack files read as the engine reads them ----------------------------------------------------------------------


def test_stack_files_are_read_with_yaml_1_2_scalars_as_the_engine_reads_them():
    from infra.spec.layering import load_yaml

    # YAML 1.1 (PyYAML's default) makes base-60 numbers of these, and booleans of yes/no.
    assert load_yaml("mac: 52:54:00:12:34:56\npci: 0000:17:00.0\nflag: yes\ntime: 12:30\n") == {
        "mac": "52:54:00:12:34:56", "pci": "0000:17:00.0", "flag": "yes", "time": "12:30"}
    assert load_yaml("a: true\nb: 3\nc: 0.5\nd: ~\ne: 0x10\nf: 1e3\n") == {
        "a": True, "b": 3, "c": 0.5, "d": None, "e": 16, "f": 1000.0}


def test_a_key_given_twice_in_a_stack_file_is_refused(tmp_path):
    import pytest

    from infra.spec.layering import StackFileError

    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  eaf:nodes:\n    workers: {count: 3}\n    workers: {count: 4}\n")
    with pytest.raises(StackFileError) as raised:
        read_stack_file(tmp_path, "x")
    assert raised.value.problem.path == "Pulumi.x.yaml"
    assert "the key 'workers' is given twice" in raised.value.problem.why and "line 4" in raised.value.problem.why


def test_a_missing_or_broken_stack_file_is_a_config_error_not_a_traceback(tmp_path):
    import pytest

    from infra.spec.errors import ConfigError
    from infra.spec.offline import load_offline

    with pytest.raises(ConfigError) as raised:
        load_offline("prodd-a")
    assert "Pulumi.prodd-a.yaml" in str(raised.value) and "did you mean 'prod-a'?" in str(raised.value)


def test_a_secret_in_plain_text_in_the_baseline_is_refused_for_every_stack_on_it(tmp_path):
    import shutil

    import pytest

    from infra.spec.errors import ConfigError
    from infra.spec.load import load_spec

    for name in ("prod", "prod-a", "prod-b"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{name}.yaml", tmp_path)
    baseline = tmp_path / "Pulumi.prod.yaml"
    baseline.write_text(baseline.read_text().replace(
        "  eaf:layer: baseline\n",
        "  eaf:layer: baseline\n  eaf:keycloakUpstreamClientSecret: plain-text-upstream-secret\n"))
    with pytest.raises(ConfigError) as raised:
        load_spec("prod-a", read_stack_file(tmp_path, "prod-a"), tmp_path, check_secrets=False, secret_keys=set())
    message = str(raised.value)
    assert "eaf:keycloakUpstreamClientSecret = '(secret, not shown)'" in message
    assert "in plain text in the baseline Pulumi.prod.yaml" in message
    assert "remove eaf:keycloakUpstreamClientSecret from Pulumi.prod.yaml" in message
    assert "plain-text-upstream-secret" not in message


# -- the stacks on one baseline -------------------------------------------------------------------------------------


def test_the_stacks_checked_together_are_every_stack_file_on_the_same_baseline(tmp_path):
    import shutil

    from infra.spec.siblings import sibling_names

    for name in ("prod", "prod-a", "prod-b", "dev", "local"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{name}.yaml", tmp_path)
    (tmp_path / "Pulumi.prod-c.yaml").write_text("config:\n  eaf:baseline: prod\n  eaf:cluster: {name: eaf-prod-c}\n")
    assert sibling_names(tmp_path, "prod-a", "prod") == (["prod-b", "prod-c"], [])
    assert sibling_names(tmp_path, "prod-c", "prod") == (["prod-a", "prod-b"], [])


def test_a_sibling_that_does_not_validate_is_named_with_what_to_do(tmp_path):
    import shutil

    import pytest

    from infra.spec.errors import ConfigError
    from infra.spec.load import load_spec
    from tests.harness import TEST_SECRETS

    for name in ("prod", "prod-a", "prod-b"):
        shutil.copy(PROJECT_DIR / f"Pulumi.{name}.yaml", tmp_path)
    (tmp_path / "Pulumi.prod-c.yaml").write_text("config:\n  eaf:baseline: prod\n  eaf:cluster: {name: eaf-prod-c}\n")
    with pytest.raises(ConfigError) as raised:
        load_spec("prod-a", {**read_stack_file(tmp_path, "prod-a"), **TEST_SECRETS}, tmp_path)
    message = str(raised.value)
    assert "Pulumi.prod-c.yaml" in message and "does not validate" in message
    assert "python -m infra preflight --stack prod-c" in message


def test_the_committed_prod_stacks_pass_each_others_checks():
    """prod-a and prod-b share no hypervisor today; each one's evaluation compares it with the other."""
    from infra.spec.load import load_spec
    from tests.harness import TEST_SECRETS

    for stack in ("prod-a", "prod-b"):
        loaded = load_spec(stack, {**read_stack_file(PROJECT_DIR, stack), **TEST_SECRETS}, PROJECT_DIR,
                           secret_keys=set(TEST_SECRETS))
        assert loaded.baseline == "prod"

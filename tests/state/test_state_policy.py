"""infra/data/state.yaml: every stack says where its state lives and what protects its secrets."""

from __future__ import annotations

import pytest

from infra.ops.state_policy import StatePolicyError, load_policy, parse_policy
from infra.paths import PROJECT_DIR


def _stack_files() -> set[str]:
    return {p.name[len("Pulumi."):-len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml")}


def test_every_stack_file_is_declared_and_every_declared_stack_has_a_file():
    assert set(load_policy().stacks) == _stack_files()


def test_dev_and_both_prod_stacks_need_the_shared_backend_and_local_does_not():
    stacks = load_policy().stacks
    assert [s for s, d in sorted(stacks.items()) if d.needs_shared_backend] == ["dev", "prod-a", "prod-b"]
    assert stacks["local"].state == "local" and stacks["local"].secrets == "sandbox"


def test_each_stacks_passphrase_variable_is_named_after_it():
    assert load_policy().stack("prod-b").passphrase_variable == "EAF_PASSPHRASE_PROD_B"


def test_an_undeclared_stack_is_refused_with_where_to_declare_it():
    with pytest.raises(StatePolicyError, match=r"stack 'qa' is not listed in infra/data/state.yaml"):
        load_policy().stack("qa")


def _document(**stacks) -> dict:
    return {"sharedBackendSchemes": ["postgres"], "keyServiceSchemes": ["hashivault"], "sandboxPassphrase": "x",
            "checkpoints": {"keep": 3, "maxAgeMinutes": 60}, "stacks": stacks}


def test_the_sandbox_passphrase_is_refused_for_a_shared_stack():
    with pytest.raises(StatePolicyError, match="only for a stack with state: local"):
        parse_policy(_document(prod={"state": "shared", "secrets": "sandbox"}))


def test_an_unknown_state_kind_is_refused():
    with pytest.raises(StatePolicyError, match="stacks.qa"):
        parse_policy(_document(qa={"state": "somewhere", "secrets": "passphrase"}))


def test_keeping_no_checkpoint_is_refused():
    document = _document()
    document["checkpoints"]["keep"] = 0
    with pytest.raises(StatePolicyError, match="checkpoints"):
        parse_policy(document)

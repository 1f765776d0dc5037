"""Each stack file's secrets provider against infra/data/state.yaml, and the sandbox passphrase kept to local."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.ops.secrets_provider import check_provider, read_provider, salt_opens_with
from infra.ops.state_policy import load_policy
from infra.paths import PROJECT_DIR
from tests.state.salts import TEAM_PASSPHRASE, TEAM_SALT

POLICY = load_policy()
LOCAL_SALT = yaml.safe_load((PROJECT_DIR / "Pulumi.local.yaml").read_text())["encryptionsalt"]


def _stack_file(tmp_path: Path, stack: str, **top) -> Path:
    document = {"config": top.pop("config", {"eaf:cluster": {"name": stack}}), **top}
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def _problems(tmp_path: Path, stack: str, require_initialised: bool = True, **top) -> list:
    found = read_provider(_stack_file(tmp_path, stack, **top), stack)
    return check_provider(POLICY.stack(stack), found, POLICY, require_initialised)


def test_the_local_stacks_salt_was_made_from_the_sandbox_passphrase():
    assert salt_opens_with(LOCAL_SALT, POLICY.sandbox_passphrase)


def test_a_salt_made_from_another_passphrase_does_not_open_with_the_sandbox_one():
    assert salt_opens_with(TEAM_SALT, TEAM_PASSPHRASE)
    assert not salt_opens_with(TEAM_SALT, POLICY.sandbox_passphrase)


def test_a_value_that_is_no_salt_is_refused():
    with pytest.raises(ValueError, match="not an encryptionsalt"):
        salt_opens_with("v1:abc", "x")


@pytest.mark.parametrize("stack", ["local", "dev", "prod-a", "prod-b"])
def test_the_repos_stack_files_agree_with_their_declaration(stack):
    found = read_provider(PROJECT_DIR, stack)
    assert check_provider(POLICY.stack(stack), found, POLICY, require_initialised=False) == []


def test_a_prod_stack_under_the_sandbox_passphrase_is_refused(tmp_path):
    [problem] = _problems(tmp_path, "prod-b", encryptionsalt=LOCAL_SALT)
    assert "public sandbox passphrase" in problem.value and "anyone can read them" in problem.why


def test_a_prod_stack_under_its_own_passphrase_passes(tmp_path):
    assert _problems(tmp_path, "prod-b", encryptionsalt=TEAM_SALT) == []


def test_before_an_up_a_stack_without_a_provider_is_told_how_to_set_one_up(tmp_path):
    [problem] = _problems(tmp_path, "prod-b")
    assert "not set up yet" in problem.why
    assert "pulumi stack init prod-b --secrets-provider passphrase" in problem.fix
    assert "$EAF_PASSPHRASE_PROD_B" in problem.fix


def test_in_the_repo_a_stack_not_yet_initialised_by_the_team_is_fine(tmp_path):
    assert _problems(tmp_path, "prod-b", require_initialised=False) == []


def test_secure_values_without_a_provider_are_refused_even_in_the_repo(tmp_path):
    config = {"eaf:pullSecret": {"secure": "v1:abc:def"}}
    [problem] = _problems(tmp_path, "dev", require_initialised=False, config=config)
    assert "nothing can decrypt them" in problem.why


def test_a_passphrase_stack_with_a_key_service_is_refused(tmp_path):
    [problem] = _problems(tmp_path, "dev", secretsprovider="hashivault://eaf-dev", encryptedkey="abc")
    assert "uses the passphrase provider" in problem.why


def test_the_local_stack_with_another_passphrase_is_refused(tmp_path):
    [problem] = _problems(tmp_path, "local", encryptionsalt=TEAM_SALT)
    assert "public sandbox passphrase" in problem.why


def _key_service_policy():
    from infra.ops.state_policy import StackState

    dev = StackState(stack="dev", state="shared", secrets="keyService")
    return POLICY.model_copy(update={"stacks": {**POLICY.stacks, "dev": dev}})


def test_a_key_service_stack_passes_with_its_url_and_encrypted_key(tmp_path):
    policy = _key_service_policy()
    found = read_provider(_stack_file(tmp_path, "dev", secretsprovider="hashivault://eaf-dev", encryptedkey="k"),
                          "dev")
    assert check_provider(policy.stack("dev"), found, policy, require_initialised=True) == []


def test_a_key_service_stack_with_an_unknown_scheme_or_a_passphrase_is_refused(tmp_path):
    policy = _key_service_policy()
    for top in ({"secretsprovider": "file:///key", "encryptedkey": "k"}, {"encryptionsalt": TEAM_SALT}):
        found = read_provider(_stack_file(tmp_path, "dev", **top), "dev")
        [problem] = check_provider(policy.stack("dev"), found, policy, require_initialised=True)
        assert "uses a key service" in problem.why

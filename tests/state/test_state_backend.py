"""The backend a `pulumi` command would use, found the way the CLI finds it (env, Pulumi.yaml, `pulumi login`)."""

from __future__ import annotations

import json
from pathlib import Path

from infra.ops.state_backend import redact, resolve_backend


def _project(tmp_path: Path, backend_url: str | None = None) -> Path:
    text = "name: eaf\nruntime: python\n"
    if backend_url:
        text += f"backend:\n  url: {backend_url}\n"
    (tmp_path / "Pulumi.yaml").write_text(text)
    return tmp_path


def _login(home: Path, url: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "credentials.json").write_text(json.dumps({"current": url, "accessTokens": {url: ""}}))


def test_pulumi_backend_url_wins_over_the_project_and_the_login(tmp_path):
    _login(tmp_path / "home", "file:///logged-in")
    env = {"PULUMI_BACKEND_URL": "postgres://eaf_state@db/eaf_state", "PULUMI_HOME": str(tmp_path / "home")}
    choice = resolve_backend(env, _project(tmp_path, "s3://project-bucket"))
    assert (choice.url, choice.source) == ("postgres://eaf_state@db/eaf_state", "PULUMI_BACKEND_URL")


def test_the_projects_backend_url_comes_before_the_login(tmp_path):
    _login(tmp_path / "home", "file:///logged-in")
    choice = resolve_backend({"PULUMI_HOME": str(tmp_path / "home")}, _project(tmp_path, "s3://project-bucket"))
    assert choice.url == "s3://project-bucket"


def test_the_login_is_read_from_pulumi_home(tmp_path):
    _login(tmp_path / "home", "postgres://eaf_state@db/eaf_state")
    choice = resolve_backend({"PULUMI_HOME": str(tmp_path / "home")}, _project(tmp_path))
    assert choice.url == "postgres://eaf_state@db/eaf_state" and "pulumi login" in choice.source


def test_pulumi_credentials_path_comes_before_pulumi_home(tmp_path):
    _login(tmp_path / "home", "file:///home-login")
    _login(tmp_path / "creds", "postgres://eaf_state@db/eaf_state")
    env = {"PULUMI_HOME": str(tmp_path / "home"), "PULUMI_CREDENTIALS_PATH": str(tmp_path / "creds")}
    assert resolve_backend(env, _project(tmp_path)).url == "postgres://eaf_state@db/eaf_state"


def test_without_pulumi_home_the_login_is_in_the_users_home(tmp_path):
    _login(tmp_path / "user" / ".pulumi", "file:///user-login")
    assert resolve_backend({"HOME": str(tmp_path / "user")}, _project(tmp_path)).url == "file:///user-login"


def test_an_encrypted_credentials_file_leaves_the_backend_unknown(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "credentials.json").write_bytes(b"PULUMI-ENVELOPE\x00\x01binary")
    choice = resolve_backend({"PULUMI_HOME": str(tmp_path / "home")}, _project(tmp_path))
    assert choice.url is None and "only the CLI can read" in choice.source


def test_no_backend_anywhere_is_unknown(tmp_path):
    choice = resolve_backend({"PULUMI_HOME": str(tmp_path / "empty")}, _project(tmp_path))
    assert choice.url is None and choice.scheme == ""


def test_redact_hides_the_password_in_the_user_info_and_the_query():
    shown = redact("postgres://eaf_state:hunter2@db:5432/eaf_state?sslmode=verify-full&password=hunter3")
    assert "hunter" not in shown
    assert shown == "postgres://eaf_state:****@db:5432/eaf_state?sslmode=verify-full&password=****"


def test_redact_keeps_a_url_without_secrets_as_it_is():
    assert redact("postgres://eaf_state@db:5432/eaf_state?sslmode=disable") == \
        "postgres://eaf_state@db:5432/eaf_state?sslmode=disable"

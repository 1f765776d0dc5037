"""A config error reads well whatever the input: escaped characters, cut values, summaries past 20 problems, no
secret, and under the engine no traceback (ConfigError is a pulumi.RunError)."""

from __future__ import annotations

import pulumi

from infra.spec import secrecy
from infra.spec.errors import MAX_SHOWN, ConfigError, Problem, shown_value, visible


def test_invisible_and_non_ascii_characters_are_shown_escaped():
    assert visible("okd-dev\u200bhv01") == "okd-dev\\u200bhv01"
    assert visible("eaf-d\u0435v") == "eaf-d\\u0435v"  # a Cyrillic e
    assert visible("br-okd\u00a0") == "br-okd\\xa0"
    assert visible("line\nbreak") == "line\\nbreak"
    assert visible("plain ascii, kept") == "plain ascii, kept"
    assert shown_value("x\u202ey") == "'x\\u202ey'"


def test_huge_values_are_cut_and_say_how_big_they_were():
    assert shown_value("x" * 100_000).endswith("(100000 characters)")
    assert len(shown_value("x" * 100_000)) < 200
    assert shown_value(list(range(100_000))).endswith("(100000 items)")
    assert len(shown_value({"a": [{"b": list(range(1000))}] * 1000})) < 200


def test_past_twenty_problems_the_rest_are_summarised_by_kind():
    problems = [Problem(f"eaf:nodes.workers.nodes.worker-{i}.ip", f"10.0.0.{i}", "outside the CIDR", "pick another")
                for i in range(5000)]
    problems += [Problem("eaf:network.mtu", 1, "too small", "use 1500")]
    message = str(ConfigError("dev", problems))
    assert "5001 config problem(s)" in message
    assert "eaf:network.mtu = 1" in message, "a flood of one kind must not hide another kind"
    assert "and 4997 more of the same kind as eaf:nodes.workers.nodes.worker-N.ip" in message
    assert message.count("\n  - eaf:") <= MAX_SHOWN
    assert len(message) < 5000


def test_a_remembered_secret_is_never_shown_in_a_value_or_a_text():
    secrecy.remember({"auths": {"quay.io": {"auth": "c2VjcmV0LXJvYm90OnRva2VuLTEyMzQ1"}}})
    error = ConfigError("dev", [Problem("eaf:okd.release", "c2VjcmV0LXJvYm90OnRva2VuLTEyMzQ1", "unknown release",
                                        "not c2VjcmV0LXJvYm90OnRva2VuLTEyMzQ1")])
    assert "c2VjcmV0LXJvYm90OnRva2VuLTEyMzQ1" not in str(error)
    assert error.problems[0].value == secrecy.SECRET_SHOWN


def test_a_value_under_a_secret_looking_key_is_never_shown():
    message = str(ConfigError("dev", [Problem("eaf:apps.grafana.adminPassword", "hunter2", "unknown key", "remove")]))
    assert "hunter2" not in message and secrecy.SECRET_SHOWN in message


def test_secret_looking_names():
    for name in ("pullSecret", "sshPublicKeys", "appsSecretKey", "appSecretKey", "grafanaAdminPassword", "apiToken",
                 "client_secret", "private-key", "passphrase", "keycloakUpstreamClientSecret"):
        assert secrecy.looks_secret(name), name
    for name in ("keycloak", "monkey", "namespace", "kedaNamespace", "oidc", "clientId", "path", "passthrough"):
        assert not secrecy.looks_secret(name), name


def test_no_setting_of_the_spec_has_a_secret_looking_name():
    """Else its errors would hide the value a user needs to see."""
    from infra.spec.cluster import ClusterSpec

    schema = ClusterSpec.model_json_schema(by_alias=True)
    names = {key for model in [schema, *schema.get("$defs", {}).values()] for key in model.get("properties", {})}
    assert names and not [n for n in sorted(names) if secrecy.looks_secret(n)]


def test_under_the_engine_a_config_error_prints_as_it_is():
    """The Python language host prints a RunError's message alone; any other exception with a traceback."""
    assert issubclass(ConfigError, pulumi.RunError)

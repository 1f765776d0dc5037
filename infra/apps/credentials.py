"""Internal credentials of the apps (cookie secrets, API tokens, database passwords), derived from one stack secret.

`eaf:appsSecretKey` is the only secret an operator sets for them; each credential is HMAC-SHA256(key, purpose), so
it is stable across runs (no random values, no churn in previews), distinct per purpose, and stays a Pulumi secret.
Rotating the key rotates them all.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cached_property

import pulumi

from infra.spec.layering import NAMESPACE

APPS_SECRET_KEY = "appsSecretKey"
JUPYTERHUB_OIDC_SECRET = "jupyterhubOidcClientSecret"
KEYCLOAK_UPSTREAM_SECRET = "keycloakUpstreamClientSecret"


def _derive(key: str, purpose: str) -> str:
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class AppCredentials:
    """Credentials read from the stack config after `load_spec` has checked that the secrets are present. The key is
    read when the first credential is derived: a stack whose apps are all off needs none."""

    @cached_property
    def _key(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(pulumi.Config(NAMESPACE).require_secret(APPS_SECRET_KEY))

    def derived(self, purpose: str, length: int = 64) -> pulumi.Output[str]:
        """`length` hex digits (some consumers want exactly 16, 24 or 32 characters)."""
        return pulumi.Output.secret(self._key.apply(lambda key: _derive(key, purpose)[:length]))

    @staticmethod
    def stack_secret(name: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(pulumi.Config(NAMESPACE).require_secret(name))


class PlaceholderCredentials:
    """For tools and tests that build the apps' objects without a stack's secrets: never a real value."""

    def derived(self, purpose: str, length: int = 64) -> str:
        return f"placeholder-{purpose}"[:length]

    def stack_secret(self, name: str) -> str:
        return f"placeholder-{name}"

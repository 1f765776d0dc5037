"""FERRY's REST API, the three calls the identity sync makes.

The transport is a function from URL to response body, so the tests feed recorded answers and the CronJob feeds
`https_transport` (FERRY authenticates the caller by its X.509 client certificate).
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from .model import AffiliationMember, UnixGroup, UserInfo, affiliation_members, payload, user_groups, user_info

Transport = Callable[[str], bytes]
TIMEOUT_SECONDS = 60


def https_transport(client_pem: str, timeout: float = TIMEOUT_SECONDS) -> Transport:
    """GET over TLS with the facility's client certificate (cert + key in one PEM), the system's CA bundle."""
    context = ssl.create_default_context()
    context.load_cert_chain(client_pem)

    def get(url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, context=context, timeout=timeout) as response:  # noqa: S310 (https only)
                return response.read()
        except urllib.error.HTTPError as error:
            # FERRY puts its envelope on error statuses too: keep the body, the envelope says what went wrong.
            body = error.read()
            if body:
                return body
            raise RuntimeError(f"FERRY {url}: HTTP {error.code} {error.reason}") from None

    return get


class FerryClient:
    def __init__(self, base_url: str, transport: Transport) -> None:
        if not base_url.startswith("https://"):
            raise ValueError(f"FERRY base URL {base_url!r}: only https (FERRY sees the client certificate)")
        self.base_url = base_url.rstrip("/")
        self.transport = transport

    def _call(self, endpoint: str, **query: str) -> tuple[str, bytes]:
        url = f"{self.base_url}/{endpoint}?{urllib.parse.urlencode(sorted(query.items()))}"
        return endpoint, self.transport(url)

    def affiliation_members(self, unit: str) -> tuple[AffiliationMember, ...]:
        endpoint, body = self._call("getAffiliationMembers", unitname=unit)
        return affiliation_members(unit, payload(f"{endpoint}({unit})", body))

    def user_info(self, username: str) -> UserInfo:
        endpoint, body = self._call("getUserInfo", username=username)
        return user_info(username, payload(f"{endpoint}({username})", body))

    def user_groups(self, username: str) -> tuple[UnixGroup, ...]:
        endpoint, body = self._call("getUserGroups", username=username)
        return user_groups(username, payload(f"{endpoint}({username})", body))

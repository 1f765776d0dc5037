"""A FERRY transport that answers from tests/fixtures/ferry (shaped after FERRY's documented API, not captured)."""

from __future__ import annotations

import urllib.parse

from infra.apps.ferry.client import FerryClient
from tests.support.apiserver import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ferry"
BASE_URL = "https://ferry.example.org:8445"


def recorded(url: str) -> bytes:
    """The recorded body of `<call>-<argument>.json` for https://host/<call>?<param>=<argument>."""
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "https", url
    (argument,) = urllib.parse.parse_qs(parts.query).values()
    return (FIXTURES / f"{parts.path.strip('/')}-{argument[0]}.json").read_bytes()


def client() -> FerryClient:
    return FerryClient(BASE_URL, recorded)

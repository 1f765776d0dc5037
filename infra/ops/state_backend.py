"""Which state backend a `pulumi` command started with this environment uses, found the way the CLI finds it.

The engine does not tell the program its backend, but the program (and the language host) run with the CLI's own
environment, and the CLI picks its backend from three places in a fixed order (pkg/workspace/creds.go,
GetCurrentCloudURLWithSource, v3.274.1): PULUMI_BACKEND_URL, else `backend.url` in Pulumi.yaml, else the `current`
URL that `pulumi login` stored in credentials.json (in PULUMI_CREDENTIALS_PATH, PULUMI_HOME or ~/.pulumi). Reading
the same places with the same environment gives the same answer. A credentials file this code cannot read (the CLI
can encrypt it) gives "unknown", which a stack that needs the shared backend treats as not shared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "secret_access_key", "access_key_id", "session_token"})


@dataclass(frozen=True)
class BackendChoice:
    url: str | None  # None when it cannot be known outside the CLI
    source: str  # where it came from, as a user would look for it

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme if self.url else ""

    def shown(self) -> str:
        return redact(self.url) if self.url else "(unknown)"


def redact(url: str) -> str:
    """The URL without its password (user info or query), for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:****@{host}" if ":" in userinfo else f"{user}@{host}"
    query = urlencode([(k, "****" if k.lower() in SECRET_QUERY_KEYS else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _credentials_file(env: Mapping[str, str]) -> Path:
    if env.get("PULUMI_CREDENTIALS_PATH"):
        return Path(env["PULUMI_CREDENTIALS_PATH"]) / "credentials.json"
    if env.get("PULUMI_HOME"):
        return Path(env["PULUMI_HOME"]) / "credentials.json"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".pulumi" / "credentials.json"


def resolve_backend(env: Mapping[str, str], project_dir: Path) -> BackendChoice:
    if env.get("PULUMI_BACKEND_URL"):
        return BackendChoice(env["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL")
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    backend = project.get("backend") or {}
    if isinstance(backend, Mapping) and backend.get("url"):
        return BackendChoice(str(backend["url"]), "backend.url in Pulumi.yaml")
    credentials = _credentials_file(env)
    if not credentials.is_file():
        return BackendChoice(None, f"nothing: PULUMI_BACKEND_URL unset and no `pulumi login` ({credentials})")
    try:
        current = json.loads(credentials.read_text(encoding="utf-8")).get("current")
    except (ValueError, AttributeError):
        return BackendChoice(None, f"`pulumi login`, in {credentials}, which only the CLI can read (encrypted)")
    if not current:
        return BackendChoice(None, f"nothing: PULUMI_BACKEND_URL unset and no current login in {credentials}")
    return BackendChoice(str(current), f"`pulumi login` ({credentials})")


def is_shared(choice: BackendChoice, shared_schemes: tuple[str, ...]) -> bool:
    return choice.scheme in shared_schemes

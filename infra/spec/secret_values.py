"""The stack's secret values, parsed for real: SSH public keys as OpenSSH reads them, the pull secret's structure.

Each check says which line or entry is wrong and why, never what it holds: these values are secrets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from functools import lru_cache
from typing import Any

# The key types OpenSSH (>= 8.2, as on FCOS/SCOS) accepts in authorized_keys, and what each one's blob says inside.
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
# cryptography reads these; the FIDO (sk-) types it does not, so their blob is checked for its type only.
_CRYPTOGRAPHY_READS = KEY_TYPES[:5]
MIN_RSA_BITS = 1024  # OpenSSH >= 9.1 refuses smaller RSA keys (RequiredRSASize)
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?$")
FAKE_PULL_SECRET = '{"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}'


def _blob_type(blob: bytes) -> str | None:
    """The key type an SSH public key blob starts with (an RFC 4251 string), if it has one."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length > 64 or len(blob) < 4 + length:
        return None
    try:
        return blob[4:4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def _key_line_problem(number: int, line: str) -> str | None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    fields = line.split()
    key_type = fields[0]
    if key_type not in KEY_TYPES:
        if any(f in KEY_TYPES for f in fields[1:]):
            return (f"line {number} starts with authorized_keys options before the key type; give the key alone "
                    "('<type> <base64> [comment]')")
        if key_type == "ssh-dss":
            return f"line {number} is a DSA key: OpenSSH has refused those since 7.0; use an ed25519 key"
        if key_type.endswith("-cert-v01@openssh.com"):
            return f"line {number} is an SSH certificate, not a public key; give the key the certificate signs"
        return f"line {number} does not start with a key type OpenSSH knows ({', '.join(KEY_TYPES)})"
    if len(fields) < 2:
        return f"line {number} has the key type only, no key after it"
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        return f"line {number}: the key's base64 is damaged (cut or wrapped while copying?)"
    inside = _blob_type(blob)
    if inside != key_type:
        said = f"a {inside} key" if inside in KEY_TYPES else "no key of a known type"
        return f"line {number} says {key_type} but holds {said}"
    if key_type not in _CRYPTOGRAPHY_READS:
        return None
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {fields[1]}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        return f"line {number}: OpenSSH could not read this {key_type} key (truncated or altered)"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"line {number} is a {key.key_size}-bit RSA key; OpenSSH refuses RSA keys under {MIN_RSA_BITS} bits"
    return None


def ssh_public_key_problems(text: str) -> list[str]:
    """Why `text` is not a list of OpenSSH public keys, one per line (empty when it is)."""
    return list(_ssh_public_key_problems(text))


@lru_cache(maxsize=64)
def _ssh_public_key_problems(text: str) -> tuple[str, ...]:
    return tuple(_key_problems(text))


def _key_problems(text: str) -> list[str]:
    if "PRIVATE KEY-----" in text or text.lstrip().startswith("PuTTY-User-Key-File"):
        return ["it is a PRIVATE key, not a public one: give the .pub file; and since the private key went into the "
                "stack's config, treat it as exposed and replace it"]
    if "BEGIN SSH2 PUBLIC KEY" in text:
        return ["it is an RFC 4716 (SSH2) public key: convert it to OpenSSH's one-line form with `ssh-keygen -i -f "
                "KEY.pub`"]
    lines = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1)
             if raw.strip() and not raw.strip().startswith("#")]
    if not lines:
        return ["it holds no public key: nobody could log in to a node"]
    problems = []
    seen: dict[tuple[str, ...], int] = {}
    for number, line in lines:
        problem = _key_line_problem(number, line)
        if problem:
            problems.append(problem)
            continue
        key = tuple(line.split()[:2])
        if key in seen:
            problems.append(f"line {number} is the same key as line {seen[key]}")
        seen.setdefault(key, number)
    return problems


def _entry_problem(number: int, registry: str, entry: Any) -> str | None:
    name = f"auths entry {number}" + (f" ({registry})" if _HOSTNAME.match(registry) else "")
    if not registry.strip():
        return f"{name} has an empty registry name"
    if not isinstance(entry, dict):
        return f"{name} is not a mapping (it needs \"auth\": base64 of user:password)"
    auth = entry.get("auth")
    if auth is None:
        if "username" in entry or "password" in entry:
            return (f"{name} gives username/password; OKD reads only \"auth\": their base64 "
                    "(printf '%s' 'USER:PASSWORD' | base64 -w0)")
        return f"{name} has no \"auth\" (base64 of user:password)"
    if not isinstance(auth, str):
        return f"{name}: \"auth\" is not a string"
    try:
        decoded = base64.b64decode(auth, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return f"{name}: \"auth\" is not valid base64"
    user, colon, _password = decoded.partition(":")
    if not colon or not user.strip():
        return f"{name}: \"auth\" does not decode to user:password"
    if "email" in entry and not isinstance(entry["email"], str):
        return f"{name}: \"email\" is not a string"
    return None


def pull_secret_problems(value: Any) -> list[str]:
    """Why a pull secret is not one OKD's installer and CRI-O accept: JSON {"auths": {registry: {"auth":
    base64(user:password), "email": optional}}} (empty when it is one)."""
    if not isinstance(value, str):
        parsed = value  # the engine hands JSON-looking config over parsed
    else:
        try:
            parsed = json.loads(str(value))
        except json.JSONDecodeError as error:
            return [f"not JSON ({error.msg} at line {error.lineno} column {error.colno})"]
    if not isinstance(parsed, dict):
        return ['not a JSON object: a pull secret is {"auths": {...}}']
    auths = parsed.get("auths")
    if not isinstance(auths, dict) or not auths:
        return ['not a pull secret: it needs a non-empty "auths" mapping of registry -> {"auth": ...}']
    problems = [_entry_problem(n, str(registry), entry) for n, (registry, entry) in enumerate(auths.items(), 1)]
    return [p for p in problems if p]


def kubeconfig_problems(value: Any) -> list[str]:
    """What keeps a kubeconfig from reaching a cluster: its structure, the current context and what it names.
    The cluster may be unreachable from here; only the document is checked."""
    import yaml

    if isinstance(value, dict):  # a kubeconfig written as JSON reaches the program parsed, as structured config
        document: Any = value
    elif not isinstance(value, str):
        return ["it is not text: give the kubeconfig file's content"]
    else:
        try:
            document = yaml.safe_load(value)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            return [f"it is not YAML (line {mark.line + 1})" if mark else "it is not YAML"]
    if not isinstance(document, dict) or document.get("kind", "Config") != "Config":
        return ["it is not a kubeconfig (a YAML mapping of kind Config)"]

    clusters, users, contexts = (_named(document, section) for section in ("clusters", "users", "contexts"))
    current = document.get("current-context")
    if not current:
        return ["it has no current-context: the program uses the kubeconfig's current context"]
    if current not in contexts:
        return [f"its current-context {current!r} is not among its contexts"]
    context = contexts[current].get("context") or {}
    problems = []
    if context.get("cluster") not in clusters:
        problems.append(f"context {current!r} names cluster {context.get('cluster')!r}, which it does not define")
    elif not str((clusters[context["cluster"]].get("cluster") or {}).get("server", "")).startswith("https://"):
        problems.append(f"cluster {context['cluster']!r} has no https:// server")
    if context.get("user") not in users:
        problems.append(f"context {current!r} names user {context.get('user')!r}, which it does not define")
    return problems


def _named(document: dict[str, Any], section: str) -> dict[str, Any]:
    """A kubeconfig section (clusters, users, contexts) by entry name."""
    entries = document.get(section) or []
    return {e["name"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


def kubeconfig_server(text: str) -> str:
    """The API server URL of a kubeconfig's current context (one kubeconfig_problems found none in): not a secret."""
    import yaml

    document = yaml.safe_load(text)
    context = _named(document, "contexts")[document["current-context"]]["context"]
    return _named(document, "clusters")[context["cluster"]]["cluster"]["server"]


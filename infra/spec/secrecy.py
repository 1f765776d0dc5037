"""What counts as a secret in a stack's config, and the values this process must never show.

Three nets, so that no message, log or MR comment ever carries a secret value:
  - by key: the keys the program reads as secrets, and any key whose name looks like one (`grafanaPassword`, a
    mistyped `eaf:appSecretKey`): a value under such a key is never shown, wherever it sits in the config;
  - by value: every secret value the loader saw is remembered (whole, per line, and its long tokens), and a problem
    whose value or text holds one shows `(secret, not shown)` instead, e.g. a pull secret pasted into a wrong field;
  - by construction: checks of secret values say which line or entry is wrong, never what it holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

SECRET_SHOWN = "(secret, not shown)"

# Words that make a key name a secret's name (camelCase / snake_case / kebab-case split into words).
_SECRET_WORDS = frozenset({
    "secret", "secrets", "password", "passwd", "passphrase", "pass", "token", "tokens", "credential", "credentials",
    "cookie", "private", "key", "keys", "apikey", "auth", "pat",
})
_NAMING_KEYS = frozenset({"key", "keys", "auth"})  # a label's key; an auth method (basic | bearer)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# Shorter pieces are not remembered: scrubbing every "abc" out of the messages would garble them.
_MIN_PIECE = 8
_MIN_TOKEN = 16

_known: set[str] = set()
# Values that look like secrets but are public by definition: OKD's documented fake pull secret.
PUBLIC = frozenset({'{"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}'})


@cache
def looks_secret(key: str) -> bool:
    """Whether a config key's name says it holds a secret (`pullSecret`, `sshPublicKeys`, `adminPassword`). A key
    named just `key` or `auth` names something (a taint's key, an auth method), it is not a key or credential."""
    if str(key).lower() in _NAMING_KEYS:
        return False
    return any(word.lower() in _SECRET_WORDS for word in _WORD.findall(str(key)))


def path_keys(path: str) -> list[str]:
    """The key names of a dotted config path: `eaf:apps.hub.oidc[0].clientSecret` -> [apps, hub, oidc, clientSecret]."""
    text = path.split(":", 1)[1] if path.startswith("eaf:") else path
    return [part for part in re.split(r"[.\[\]]", text) if part and not part.isdigit()]


_ANY_WORD = re.compile("|".join(sorted(_SECRET_WORDS, key=len, reverse=True)), re.IGNORECASE)


def secret_path(path: str) -> bool:
    if not _ANY_WORD.search(path):  # most paths: no word of a secret's name anywhere
        return False
    return any(looks_secret(key) for key in path_keys(path))


def _pieces(text: str) -> set[str]:
    pieces = {text.strip()} | {line.strip() for line in text.splitlines()}
    pieces |= {token for token in re.split(r"[\s\"',:{}\[\]]+", text) if len(token) >= _MIN_TOKEN}
    return {piece for piece in pieces if len(piece) >= _MIN_PIECE}


def _strings(value: Any, budget: int = 2000, keys: bool = True) -> list[str]:
    """The string leaves of a value (with `keys`, its mappings' keys too), at most `budget` of them."""
    found: list[str] = []
    stack = [value]
    while stack and len(found) < budget:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, Mapping):
            if keys:
                stack.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif item is not None and not isinstance(item, bool | int | float):
            found.append(str(item))
    return found


def _public(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() in PUBLIC
    return isinstance(value, Mapping) and any(value == json.loads(text) for text in PUBLIC)


def remember(value: Any) -> None:
    """Never show this value (any string in it, its mappings' keys aside: `auths`, `auth` and a registry's name are
    no secret), in any message of this process."""
    if _public(value):
        return
    for text in _strings(value, keys=False):
        if not _public(text):
            _known.update(_pieces(text))


def remember_secret_leaves(config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> None:
    """Remember every value under a key that is, or looks like, a secret's, anywhere in a stack's config."""
    named = set(secret_keys)
    stack: list[tuple[str, Any]] = list(config.items())
    while stack:
        key, value = stack.pop()
        if key in named or looks_secret(key):
            remember(value)
        elif isinstance(value, Mapping):
            stack.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((key, v) for v in value if isinstance(v, Mapping))


def holds_secret(value: Any) -> bool:
    """Whether a value contains a remembered secret, or is a long enough piece of one."""
    if not _known or value is None or isinstance(value, bool | int | float):
        return False
    for text in _strings(value, budget=200):
        if any(piece in text for piece in _known):
            return True
        if len(text) >= _MIN_PIECE and any(text in piece for piece in _known):
            return True
    return False


_pattern: tuple[int, re.Pattern[str] | None] = (0, None)


def scrub(text: str) -> str:
    """`text` with every remembered secret replaced by SECRET_SHOWN."""
    global _pattern
    if not _known:
        return text
    if _pattern[0] != len(_known):  # one alternation of every piece, longest first, rebuilt when one is added
        _pattern = (len(_known), re.compile("|".join(re.escape(p) for p in sorted(_known, key=len, reverse=True))))
    pattern = _pattern[1]
    assert pattern is not None
    return pattern.sub(SECRET_SHOWN, text)

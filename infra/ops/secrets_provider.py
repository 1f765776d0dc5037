"""What protects a stack's secrets, read from its stack file, and whether that is what infra/data/state.yaml says.

A DIY-backend stack keeps its secrets provider in Pulumi.<stack>.yaml: `encryptionsalt:` for the passphrase
provider, `secretsprovider: <key service URL>` + `encryptedkey:` for a key service. The salt carries the word
"pulumi" encrypted with the key derived from the passphrase (PBKDF2-SHA256, 1,000,000 rounds, AES-256-GCM; sdk
go/common/resource/config/crypt.go), so whether a stack was initialised with the public sandbox passphrase can be
checked without the engine and without the real passphrase.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from infra.ops.state_policy import StackState, StatePolicy
from infra.spec.errors import Problem

PBKDF2_ROUNDS = 1_000_000  # the engine's, see the module docstring


@dataclass(frozen=True)
class FoundProvider:
    """The secrets provider keys of one stack file."""

    stack: str
    salt: str | None
    provider_url: str | None
    has_encrypted_key: bool
    secure_values: int

    @property
    def kind(self) -> str:
        if self.provider_url and self.provider_url not in ("passphrase", "default"):
            return "keyService"
        if self.salt:
            return "passphrase"
        return "none"


def read_provider(project_dir: Path, stack: str) -> FoundProvider:
    path = project_dir / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = document.get("config") or {}
    secure = sum(1 for value in config.values() if isinstance(value, Mapping) and "secure" in value)
    return FoundProvider(stack, document.get("encryptionsalt") or None, document.get("secretsprovider") or None,
                         bool(document.get("encryptedkey")), secure)


@cache
def salt_opens_with(salt: str, passphrase: str) -> bool:
    """True when `salt` (an `encryptionsalt:` value) was made from `passphrase`."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    parts = salt.split(":")
    if len(parts) != 5 or parts[0] != "v1" or parts[2] != "v1":
        raise ValueError(f"not an encryptionsalt value (v1:<salt>:v1:<nonce>:<ciphertext>): {salt[:12]}...")
    try:
        salt_bytes, nonce, ciphertext = (base64.b64decode(p, validate=True) for p in parts[1:2] + parts[3:])
    except binascii.Error as error:
        raise ValueError(f"encryptionsalt is not base64: {error}") from None
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt_bytes, PBKDF2_ROUNDS, 32)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, None) == b"pulumi"
    except InvalidTag:
        return False


def _init_fix(declared: StackState) -> str:
    if declared.secrets == "keyService":
        return (f"pulumi stack init {declared.stack} --secrets-provider 'hashivault://<key>' (or awskms://, "
                f"azurekeyvault://, gcpkms://), then commit Pulumi.{declared.stack}.yaml")
    return (f"with the stack's passphrase from your team's store in ${declared.passphrase_variable}: "
            f"PULUMI_CONFIG_PASSPHRASE=\"${declared.passphrase_variable}\" pulumi stack init {declared.stack} "
            f"--secrets-provider passphrase, then commit the `encryptionsalt:` it writes to "
            f"Pulumi.{declared.stack}.yaml")


def check_provider(declared: StackState, found: FoundProvider, policy: StatePolicy,
                   require_initialised: bool) -> list[Problem]:
    """Problems with the stack file's secrets provider. `require_initialised`: a stack without one is a problem
    (before an `up`); the repo itself may hold dev/prod stack files the team has not initialised yet."""
    where = f"Pulumi.{declared.stack}.yaml"
    if found.kind == "none":
        if found.secure_values:
            return [Problem(f"{where}: encryptionsalt", "(not there)", f"{found.secure_values} secure value(s) but no "
                            "secrets provider: nothing can decrypt them", _init_fix(declared))]
        if require_initialised or declared.secrets == "sandbox":
            return [Problem(f"{where}: encryptionsalt / secretsprovider", "(neither is there)",
                            f"stack {declared.stack}'s secrets provider ({declared.secrets}) is not set up yet",
                            _init_fix(declared))]
        return []
    if declared.secrets == "keyService":
        scheme = urlsplit(found.provider_url or "").scheme
        if found.kind != "keyService" or scheme not in policy.key_service_schemes or not found.has_encrypted_key:
            return [Problem(f"{where}: secretsprovider", found.provider_url or "passphrase",
                            f"infra/data/state.yaml says {declared.stack} uses a key service "
                            f"({', '.join(policy.key_service_schemes)}) with an encryptedkey",
                            f"pulumi stack change-secrets-provider -s {declared.stack} '<key service URL>'")]
        return []
    if found.kind != "passphrase":
        return [Problem(f"{where}: secretsprovider", found.provider_url,
                        f"infra/data/state.yaml says {declared.stack} uses the passphrase provider",
                        f"pulumi stack change-secrets-provider -s {declared.stack} passphrase, or change "
                        "infra/data/state.yaml if the key service is what the team chose")]
    sandbox = salt_opens_with(found.salt or "", policy.sandbox_passphrase)
    if declared.secrets == "sandbox" and not sandbox:
        return [Problem(f"{where}: encryptionsalt", "(another passphrase)",
                        "the local sandbox stack's salt must come from the public sandbox passphrase",
                        "restore Pulumi.local.yaml from git (its salt and sandbox values belong together)")]
    if declared.secrets == "passphrase" and sandbox:
        return [Problem(f"{where}: encryptionsalt", "(the public sandbox passphrase)",
                        f"stack {declared.stack}'s secrets are encrypted with the passphrase published in "
                        "scripts/env-local.sh: anyone can read them",
                        f"treat them as leaked: remove `encryptionsalt:` and the secure values from {where}, set "
                        "them again with the real passphrase in PULUMI_CONFIG_PASSPHRASE (from "
                        f"${declared.passphrase_variable}) and rotate every one")]
    return []

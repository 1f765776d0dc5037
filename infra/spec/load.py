"""Read, layer and validate a stack's config; every problem is reported at once, before any resource exists.

In order: the layers (baseline file), the keys and their characters, the secrets (present, parsed, never in plain
text), the typed spec (pydantic, its wording translated into ours), one of each in every list, the pinned release
and image, the machine plan, the stacks on the same baseline (shared hypervisors), the apps. Whatever the input,
the result is a LoadedStack or a ConfigError naming the stack, the field, the value (never a secret's), why and
the fix.
"""

from __future__ import annotations

import difflib
import re
import typing
import unicodedata
from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from infra.catalog import OkdRelease, versions
from infra.plan.build import build_plan
from infra.plan.model import ClusterPlan
from infra.spec import secrecy
from infra.spec.cluster import (
    APP_SECRET_KEYS,
    EXISTING_CLUSTER_SECRET_KEYS,
    LAYERING_KEYS,
    SECRET_KEYS,
    SPEC_KEYS,
    ClusterSpec,
)
from infra.spec.errors import ConfigError, Problem
from infra.spec.layering import SECURE_PLACEHOLDER, Layers, layer
from infra.spec.os_image import OsImage
from infra.spec.secret_values import (
    FAKE_PULL_SECRET,
    kubeconfig_problems,
    pull_secret_problems,
    ssh_public_key_problems,
)
from infra.spec.unique import namespace_problems, repeat_problems

SECRET_SHOWN = secrecy.SECRET_SHOWN
# Characters no setting of this project needs and that a screen does not show (zero-width space, BOM, bidi
# controls, NBSP...): a value holding one looks right and is not. Line breaks and tabs are allowed (keys, bundles).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_ALLOWED_CONTROLS = frozenset("\n\r\t")
MIN_APPS_KEY_CHARS = 32


@dataclass(frozen=True)
class LoadedStack:
    stack: str
    baseline: str | None
    spec: ClusterSpec
    plan: ClusterPlan
    okd_release: str  # the release's name in the catalogue
    os_image: OsImage  # the resolved, pinned OS image (catalogue entry or the stack's own), its `name` set

    @property
    def release(self) -> OkdRelease:
        return versions().release(self.okd_release)


def secret_config_keys() -> tuple[str, ...]:
    """Every `eaf:` key the program reads as a secret: the cluster's, and those the apps need."""
    from infra.apps.registry import definitions

    keys = [*SECRET_KEYS, *EXISTING_CLUSTER_SECRET_KEYS, *APP_SECRET_KEYS,
            *(need.key for d in definitions() for need in d.secrets)]
    return tuple(dict.fromkeys(keys))


# -- pydantic's errors, in our words ------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """tuple[Host, ...] -> Host, dict[str, NodePin] -> NodePin, X | None -> X."""
    for arg in (typing.get_args(annotation) or (annotation,))[::-1]:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg) if typing.get_args(arg) else None
        if inner is not None and isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the field at `loc`, and the field, following aliases, lists and maps."""
    current: Any = model
    holder, found = None, None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        if isinstance(part, int):
            continue
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part or n == part), None)
        if field is None:
            if found is not None and isinstance(_unwrap(found.annotation), type):
                continue  # a key of a dict[str, Model]
            return current, None
        holder, found = current, field
        current = _unwrap(field.annotation)
    return holder, found


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that the field at `loc` lives in, following aliases, lists and dicts."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part or n == part), None)
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _path(loc: tuple[Any, ...]) -> str:
    text = "eaf:"
    for i, part in enumerate(loc):
        text += f"[{part}]" if isinstance(part, int) else ("" if i == 0 else ".") + str(part)
    return text


_VALIDATOR_STEP = re.compile(r"^(function-|union\[|literal\[|json-or-python|lax-or-strict|tagged-union|chain\[)")
_PATTERN_EXAMPLES = {
    r"^https://[^\s/]+(/[^\s]*)?$": "an https:// URL, e.g. https://sso.example.org/realms/eaf",
    r"^[0-9.]+:[0-9]{1,5}$": "address:port, e.g. 127.0.0.1:9999",
    r"^/.*": "an absolute path, e.g. /nashome",
}
# Our validators' messages (the spec's and the apps' models) -> the fix they imply.
_VALUE_FIXES = tuple((re.compile(pattern), fix) for pattern, fix in (
    (r"\(e\.g\. ([^)]*)\)", r"write it like \1"),
    (r"[;,] e\.g\. (.*)$", r"use one like \1"),
    (r"minReplicas .* is above maxReplicas", "set minReplicas <= maxReplicas"),
    (r"request .* is above limit", "set request <= limit"),
    (r"exactly one source", "keep one of `url` and `path`, or name a catalogue image (`name:`)"),
    (r"needs both `kernel` and `initrd`", "give both `kernel` and `initrd`, or neither"),
    (r"PEM certificate bundle", "give a PEM file of the CA certificates only (cat ca1.pem ca2.pem > bundle.pem)"),
))


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text" if value else "empty text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _bounds(field: FieldInfo | None) -> str:
    if field is None:
        return ""
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "at least", "max_length": "at most"}
    found = []
    for item in field.metadata:
        for attr, word in words.items():
            limit = getattr(item, attr, None)
            if limit is not None and attr in ("ge", "gt", "le", "lt"):
                found.append(f"{word} {limit}")
    return f" ({', '.join(found)})" if found else ""


def _example(field: FieldInfo | None) -> str:
    if field is None:
        return ""
    default = field.get_default(call_default_factory=True) if not field.is_required() else None
    if default not in (None, (), {}, "") and not isinstance(default, BaseModel):
        return f", e.g. {default!r} (the default)"
    return ""


def _described(field: FieldInfo | None) -> str:
    return f" ({field.description})" if field is not None and field.description else ""


def _translate(kind: str, item: Mapping[str, Any], field: FieldInfo | None, path: str) -> tuple[str, str]:
    """(why, fix) for one pydantic error, in words a stack file's author uses."""
    ctx = item.get("ctx") or {}
    value = item.get("input")
    seen = _kind_of(value)
    if kind == "string_type":
        quoted = f'"{value}"' if isinstance(value, bool | int | float) else '"..."'
        return (f"is {seen}, not text", f"quote it in the stack file: {path.rsplit('.', 1)[-1]}: {quoted}"
                if isinstance(value, bool | int | float) else f"give one text value{_described(field)}")
    if kind in ("int_type", "int_parsing", "int_parsing_size"):
        return f"is {seen}, not a whole number", f"give a whole number{_bounds(field)}{_example(field)}"
    if kind == "int_from_float":
        example = int(value) if isinstance(value, float) else 1
        return f"{value!r} is not a whole number", f"give a whole number, e.g. {example}"
    if kind in ("float_type", "float_parsing"):
        return f"is {seen}, not a number", f"give a number{_bounds(field)}{_example(field)}"
    if kind == "finite_number":
        return "is not a finite number", f"give a number{_bounds(field)}{_example(field)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"is {seen}, not true or false", "give true or false"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        word = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"must be {word} {limit}", f"give a value {word} {limit}{_example(field)}"
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        return "is not one of the choices", f"use one of: {expected}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _unwrap(field.annotation) if field is not None else None
        keys = _keys_of(model) if isinstance(model, type) and issubclass(model, BaseModel) else []
        shape = f" with keys {', '.join(keys)}" if keys else ""
        return f"is {seen}, not a mapping of settings", f"give a mapping{shape}{_described(field)}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"is {seen}, not a list", "give a list: [a, b], or one '- item' line per entry"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        what = "entries" if kind == "too_short" else "characters"
        return ("is empty" if not value else f"has fewer than {least} {what}",
                f"give at least {least} {what}{_described(field)}")
    if kind in ("too_long", "string_too_long"):
        most = ctx.get("max_length", "?")
        what = "entries" if kind == "too_long" else "characters"
        return f"has more than {most} {what}", f"give at most {most} {what}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return "does not have the expected form", f"give {_PATTERN_EXAMPLES.get(pattern, f'text matching {pattern}')}"
    if kind.startswith("ip_v4") or kind.startswith("ip_any"):
        if "network" in kind:
            return ("is not an IPv4 network", "give a network address in CIDR form, e.g. 10.42.16.0/24 (its host "
                    "bits zero: not 10.42.16.1/24)")
        return "is not an IPv4 address", "give an IPv4 address in dotted form, e.g. 10.42.16.1"
    message = item["msg"].removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error"):
        for pattern, fix in _VALUE_FIXES:
            match = pattern.search(message)
            if match:
                example_only = fix.startswith(("write it like", "use one like"))
                why = (message[:match.start()] + message[match.end():]).strip(" ;,") if example_only else message
                return why or message, match.expand(fix)
        return message, f"correct the value: {message}"
    return message, f"give a value of the field's type{_described(field)}{_example(field)}"


def _secret_hint(path_keys: list[str], names: tuple[str, ...]) -> str | None:
    """The stack secret a secret-looking key most likely meant (`apps.jupyterhub.oidc.clientSecret` ->
    jupyterhubOidcClientSecret)."""
    joined = "".join(k[:1].upper() + k[1:] for k in path_keys)
    joined = joined[:1].lower() + joined[1:]
    close = difflib.get_close_matches(joined, names, n=1, cutoff=0.5)
    if close:
        return close[0]
    close = difflib.get_close_matches(path_keys[-1], names, n=1, cutoff=0.6)
    return close[0] if close else None


def _secret_fix(stack: str, key: str, names: tuple[str, ...], where: str) -> str:
    meant = _secret_hint(secrecy.path_keys(key), names)
    set_it = (f"set the secret the program reads: pulumi config set --secret eaf:{meant} -s {stack} < FILE"
              if meant else "secrets are stack secrets of their own (eaf:<key>), never part of a setting")
    return (f"remove {key} from {where}; {set_it}; the value is in git history now: rotate it"
            if where else f"remove {key}; {set_it}")


def _pydantic_problems(error: ValidationError, stack: str, names: tuple[str, ...],
                       reported: Set[str] = frozenset()) -> list[Problem]:
    """pydantic's errors in our words. Left out: errors at `reported` paths (said already, e.g. an invisible
    character), and a list's "too short" when its entries have errors of their own (the entries are the cause)."""
    problems = []
    items = [(tuple(p for p in item["loc"] if not (isinstance(p, str) and _VALIDATOR_STEP.match(p))), item)
             for item in error.errors()]
    deeper = {loc[:n] for loc, _item in items for n in range(len(loc))}
    for loc, item in items:
        if (_path(loc) in reported and item["type"] != "extra_forbidden") or (
                item["type"] == "too_short" and loc in deeper):
            continue
        path, value, kind = _path(loc), item.get("input"), item["type"]
        _holder, field = _field_at(ClusterSpec, loc)
        if kind == "extra_forbidden":
            parent = _model_at(ClusterSpec, loc[:-1])
            allowed = _keys_of(parent) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            if secrecy.secret_path(path):
                problems.append(Problem(path, SECRET_SHOWN, "unknown key, and its name says it holds a secret, in "
                                        "plain text in the stack's config", hint + _secret_fix(
                                            stack, path, names, f"Pulumi.{stack}.yaml")))
                continue
            problems.append(Problem(path, value, "unknown key (a typo, or a setting this project does not have)",
                                    f"{hint}remove it, or use one of: {', '.join(allowed)}"))
        elif kind == "missing":
            problems.append(Problem(path, None, "required setting is missing" + _described(field),
                                    f"add it: pulumi config set --path '{path}' <value> -s {stack} (or put it in "
                                    "the baseline the stack builds on)"))
        else:
            why, fix = _translate(kind, item, field, path)
            problems.append(Problem(path, value, why, fix))
    return problems


# -- the keys, their characters, the secrets ------------------------------------------------------------------------


def _top_level_problems(stack: str, config: Mapping[str, Any], names: tuple[str, ...],
                        secret_keys: Set[str] | None) -> list[Problem]:
    known = (*SPEC_KEYS, *LAYERING_KEYS, *names)
    problems = []
    for key in sorted(config, key=str):
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean 'eaf:{close[0]}'? " if close else ""
        secret = secrecy.looks_secret(key) or (close and close[0] in names) or key in (secret_keys or ())
        if secret:
            plain = secret_keys is not None and key not in secret_keys and config[key] != SECURE_PLACEHOLDER
            meant = close[0] if close and close[0] in names else _secret_hint([str(key)], names)
            set_it = f"pulumi config set --secret eaf:{meant} -s {stack} < FILE" if meant else \
                "secrets are the stack secrets the program reads: " + ", ".join(f"eaf:{n}" for n in names)
            problems.append(Problem(
                f"eaf:{key}", SECRET_SHOWN,
                "unknown key, and it holds a secret (its name says so)" + (", in plain text" if plain else ""),
                f"{hint}pulumi config rm eaf:{key} -s {stack}, then {set_it}"
                + ("; the value is in git history now: rotate it" if plain else "")))
            continue
        problems.append(Problem(
            f"eaf:{key}", config[key], "unknown key (a typo, or a setting this project does not have)",
            f"{hint}remove it, or use one of: {', '.join('eaf:' + k for k in known)}",
        ))
    return problems


def _invisible_problems(config: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    stack: list[tuple[str, Any]] = [(f"eaf:{k}", v) for k, v in config.items()]
    while stack and len(problems) < 1000:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                child = f"{path}.{key}"
                if isinstance(key, str) and _invisible(key) is not None:
                    stack.append((child + "(key)", key))
                stack.append((child, item))
            continue
        if isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
            continue
        if not isinstance(value, str):
            continue
        found = _invisible(value)
        if found is not None:
            position, char = found
            name = unicodedata.name(char, "unnamed")
            where = path.removesuffix("(key)")
            what = "the key" if path.endswith("(key)") else "the value"
            problems.append(Problem(where, value, f"{what} holds an invisible character U+{ord(char):04X} ({name}) "
                                    f"at position {position + 1}: it looks right on screen, but is not what libvirt "
                                    "or OKD would read", f"retype {what} without it (copied from a web page or a "
                                    "chat?)"))
    return sorted(problems, key=lambda p: p.path)


def _invisible(text: str) -> tuple[int, str] | None:
    if text.isascii() and text.isprintable():
        return None
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if (category in _INVISIBLE_CATEGORIES and char not in _ALLOWED_CONTROLS) or (
                category == "Zs" and char != " "):
            return position, char
    return None


def _plain_secret_problems(stack: str, layers: Layers, names: tuple[str, ...],
                           secret_keys: Set[str] | None) -> list[Problem]:
    """A secret stored in plain text in a stack file: in git, in every clone, in every CI log that prints config."""
    problems = []
    for key in names:
        value = layers.merged.get(key)
        if value is None or value == SECURE_PLACEHOLDER:
            continue
        if key in layers.own:
            if secret_keys is None or key in secret_keys:
                continue
            problems.append(Problem(
                f"eaf:{key}", SECRET_SHOWN, f"a secret stored in plain text in Pulumi.{stack}.yaml",
                f"pulumi config set --secret eaf:{key} -s {stack} < FILE (it replaces the plain value); the value is "
                "in git history now: rotate it"))
        else:
            problems.append(Problem(
                f"eaf:{key}", SECRET_SHOWN, f"a secret stored in plain text in the baseline Pulumi.{layers.baseline}"
                ".yaml", f"remove eaf:{key} from Pulumi.{layers.baseline}.yaml (a baseline holds no secret) and set "
                f"it per stack: pulumi config set --secret eaf:{key} -s {stack} < FILE; the value is in git history "
                "now: rotate it"))
    return problems


def _secret_value_problems(stack: str, config: Mapping[str, Any]) -> list[Problem]:
    """The secrets' contents, when this process has them (the engine, tests; not tools reading the stack file)."""
    problems = []
    pull_secret = config.get("pullSecret")
    if pull_secret not in (None, SECURE_PLACEHOLDER, ""):
        reasons = pull_secret_problems(pull_secret)
        if reasons:
            problems.append(Problem("eaf:pullSecret", SECRET_SHOWN, "; ".join(reasons),
                                    f"pulumi config set --secret eaf:pullSecret -s {stack} < pull-secret.json (the "
                                    f"file your registry gives, or OKD's fake one {FAKE_PULL_SECRET})"))
    keys = config.get("sshPublicKeys")
    if keys not in (None, SECURE_PLACEHOLDER, ""):
        reasons = (ssh_public_key_problems(keys) if isinstance(keys, str)
                   else ["it is not text: give the keys one per line (the .pub files concatenated), not as a list"])
        if reasons:
            problems.append(Problem("eaf:sshPublicKeys", SECRET_SHOWN, "; ".join(reasons),
                                    f"pulumi config set --secret eaf:sshPublicKeys -s {stack} < ~/.ssh/id_ed25519.pub "
                                    "(one OpenSSH public key per line)"))
    for key in EXISTING_CLUSTER_SECRET_KEYS:
        value = config.get(key)
        reasons = kubeconfig_problems(value) if value not in (None, SECURE_PLACEHOLDER, "") else []
        if reasons:
            problems.append(Problem(f"eaf:{key}", SECRET_SHOWN, "; ".join(reasons),
                                    f"pulumi config set --secret eaf:{key} -s {stack} < KUBECONFIG (the file "
                                    "`oc login` or the cluster's installer wrote, e.g. auth/kubeconfig)"))
    for key in APP_SECRET_KEYS:
        value = config.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(f"eaf:{key}", SECRET_SHOWN, f"is {_kind_of(value)}, not text: a secret here is "
                                    "one line of text", f"pulumi config set --secret eaf:{key} -s {stack} < FILE"))
    apps_key = config.get("appsSecretKey")
    if isinstance(apps_key, str) and apps_key != SECURE_PLACEHOLDER and len(apps_key.strip()) < MIN_APPS_KEY_CHARS:
        problems.append(Problem("eaf:appsSecretKey", SECRET_SHOWN, f"shorter than {MIN_APPS_KEY_CHARS} characters: "
                                "too weak to derive the apps' credentials from",
                                f"openssl rand -hex 32 | pulumi config set --secret eaf:appsSecretKey -s {stack}"))
    return problems


def _mode_secret_problems(stack: str, config: Mapping[str, Any]) -> list[Problem]:
    """The secrets the stack's mode needs (to build its cluster, or to reach the existing one) are there, and the
    other mode's are not."""
    existing = config.get("existingCluster") is not None
    problems = [Problem(f"eaf:{key}", None, "required secret is missing" + (
                        " (eaf:existingCluster is set: the apps go onto the cluster this kubeconfig reaches)"
                        if existing else ""),
                        f"pulumi config set --secret eaf:{key} -s {stack} < "
                        + ("KUBECONFIG (the cluster's admin kubeconfig)" if existing else "FILE")
                        + (f" (OKD accepts the fake pull secret {FAKE_PULL_SECRET})" if key == "pullSecret" else ""))
                for key in (EXISTING_CLUSTER_SECRET_KEYS if existing else SECRET_KEYS)
                if config.get(key) in (None, "")]
    if not existing:
        problems += [Problem(f"eaf:{key}", SECRET_SHOWN, "set, but eaf:existingCluster is not: the stack builds its "
                             "own cluster and would never use it",
                             f"pulumi config rm eaf:{key} -s {stack}, or set eaf:existingCluster to deploy only the "
                             "apps onto that cluster")
                     for key in EXISTING_CLUSTER_SECRET_KEYS if config.get(key) not in (None, "")]
    return problems


# -- pins -------------------------------------------------------------------------------------------------------------


_UNPINNED = re.compile(r"^(latest|stable|fast|candidate|nightly)(-.*)?$|^\d+\.\d+$")


def _pairs() -> str:
    catalogue = versions()
    return ", ".join(f"{name} with {entry.os_image}" for name, entry in catalogue.okd.releases.items())


def _pins(spec: ClusterSpec) -> tuple[str | None, OsImage | None, list[Problem]]:
    """The OKD release the stack installs and the OS image it boots, both pinned; or why not."""
    catalogue = versions()
    releases = catalogue.okd.releases
    release = spec.okd.release or catalogue.okd.default
    problems = []
    if _UNPINNED.match(release):
        problems.append(Problem("eaf:okd.release", release, "unpinned: a channel or minor version, not one release",
                                f"name an exact release of infra/data/versions.yaml: {', '.join(releases)}"))
        return None, None, problems
    if release not in releases:
        problems.append(Problem("eaf:okd.release", release, "not in the pinned catalogue infra/data/versions.yaml",
                                f"use one of: {', '.join(releases)}; or add the release (installer url + sha256, "
                                "release image, OS image) to versions.yaml in the same change"))
        return None, None, problems
    entry = releases[release]
    if ":" not in entry.release_image.rsplit("/", 1)[-1] and "@sha256:" not in entry.release_image:
        problems.append(Problem("versions.yaml okd.releases." + release, entry.release_image,
                                "release image has no tag or digest", "pin it by tag or @sha256 digest"))
    image = spec.os_image
    if image is None or image.name is not None:
        name = image.name if image is not None and image.name else entry.os_image
        if name not in catalogue.os_images:
            problems.append(Problem("eaf:osImage.name", name, "not in infra/data/versions.yaml osImages",
                                    f"use one of: {', '.join(catalogue.os_images)}"))
            return release, None, problems
        resolved = catalogue.os_image(name)
    else:
        if image.sha256 is None and image.checksum_file is None:
            problems.append(Problem("eaf:osImage.sha256", None, "unpinned: the OS image has no checksum",
                                    "add its sha256 (sha256sum FILE), or `checksumFile:` naming the SHA256SUMS file "
                                    "published beside a pre-staged image, so every host boots exactly the same image"))
        resolved = image.model_copy(update={"name": Path(image.path or image.url or "image").name})
    if resolved.os not in ("probe", None) and resolved.os != entry.os:
        problems.append(Problem("eaf:osImage", resolved.name,
                                f"OKD {release} boots {entry.os.upper()}, but the image is {resolved.os.upper()}",
                                f"use the image paired with the release (remove eaf:osImage, or name it): "
                                f"{_pairs()}"))
    return release, resolved, problems


def _first_boot_problems(spec: ClusterSpec, os_image: OsImage | None) -> list[Problem]:
    """Static first-boot addresses reach a node as kernel arguments: the domain's own command line when libvirt
    boots the kernel directly. A disk-booted CoreOS image reads them from `ignition.firstboot` on its boot
    partition, which the program does not write yet (docs/okd-install.md, "First boot without site DHCP")."""
    if spec.network.first_boot != "static" or os_image is None or os_image.kernel:
        return []
    return [Problem("eaf:network.firstBoot", "static",
                    f"the OS image {os_image.name} boots from its disk, and writing the first-boot arguments into its "
                    "boot partition's ignition.firstboot is not implemented yet",
                    "give the site a DHCP reservation per MAC from siteNetworkRecords (firstBoot: dhcp), or boot a "
                    "kernel directly (eaf:osImage.kernel/initrd/cmdline)")]


# -- the stacks on the same baseline --------------------------------------------------------------------------------


def _sibling_problems(stack: str, layers: Layers, spec: ClusterSpec, plan: ClusterPlan,
                      project_dir: Path) -> list[Problem]:
    from infra.plan.shared_hosts import Stack, shared_host_problems
    from infra.spec.siblings import load_siblings

    problems = []
    siblings, more = load_siblings(project_dir, stack, layers.baseline)
    problems += more
    for name, loaded in siblings:
        problems += shared_host_problems(Stack(stack, spec, plan), Stack(name, loaded.spec, loaded.plan))
    return problems


# -- the whole ------------------------------------------------------------------------------------------------------


def load_spec(stack: str, own_config: Mapping[str, Any], project_dir: Path, check_secrets: bool = True,
              secret_keys: Set[str] | None = None, check_siblings: bool = True) -> LoadedStack:
    """Validate one stack. `own_config` holds the stack's `eaf:*` keys without the namespace (secrets: any value).
    Tools outside the engine that need no secret (preflight, reports) pass `check_secrets=False`. `secret_keys`:
    the keys the engine (or the stack file) holds as secrets; a secret outside it is in plain text. None: unknown
    (a caller that builds the config itself). `check_siblings`: compare with the stacks on the same baseline."""
    names = secret_config_keys()
    secrecy.remember_secret_leaves(own_config, (*names, *(secret_keys or ())))
    if own_config.get("layer") == "baseline":
        raise ConfigError(stack, [Problem("eaf:layer", "baseline",
                                          f"'{stack}' is the shared baseline other stacks build on, not a cluster",
                                          "deploy a stack that builds on it (e.g. -s prod-a or -s prod-b)")])
    layers = layer(stack, project_dir, own_config)
    config = layers.merged
    secrecy.remember_secret_leaves(config, names)
    problems = _top_level_problems(stack, config, names, secret_keys)
    problems += _invisible_problems(config)
    problems += _plain_secret_problems(stack, layers, names, secret_keys)
    if check_secrets:
        problems += _mode_secret_problems(stack, config)
    problems += _secret_value_problems(stack, config)
    spec_input = {k: v for k, v in config.items() if k in SPEC_KEYS}
    try:
        spec = ClusterSpec.model_validate(spec_input)
    except ValidationError as error:
        reported = {p.path for p in problems}
        raise ConfigError(stack, problems + _pydantic_problems(error, stack, names, reported)) from None
    repeated = repeat_problems(spec) + namespace_problems(spec.apps)
    if repeated:
        raise ConfigError(stack, problems + repeated)
    release, os_image, more = _pins(spec)
    problems += more + _first_boot_problems(spec, os_image)
    plan, more = build_plan(spec, stack, release)
    problems += more
    if plan is not None and check_siblings and layers.baseline is not None:
        problems += _sibling_problems(stack, layers, spec, plan, project_dir)
    # The apps' cross-checks (VO catalog, MIG slices, image pins, app secrets) need the plan and data files.
    from infra.apps.validate import app_problems

    # Without a plan (its problems are listed already) they would only repeat them in other words.
    if plan is not None:
        present = {key for key in APP_SECRET_KEYS if config.get(key)} if check_secrets else None
        problems += app_problems(spec.apps, plan, present, stack)
    if problems:
        raise ConfigError(stack, problems)
    assert plan is not None and release is not None and os_image is not None
    return LoadedStack(stack=stack, baseline=layers.baseline, spec=spec, plan=plan, okd_release=release,
                       os_image=os_image)

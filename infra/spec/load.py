"""Read, layer and validate a stack's config; every problem is reported at once, before any resource exists."""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from infra.catalog import OkdRelease, versions
from infra.plan.build import build_plan
from infra.plan.model import ClusterPlan
from infra.spec.cluster import APP_SECRET_KEYS, LAYERING_KEYS, SECRET_KEYS, SPEC_KEYS, ClusterSpec
from infra.spec.errors import ConfigError, Problem
from infra.spec.layering import layered
from infra.spec.os_image import OsImage


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


def _unwrap(annotation: Any) -> Any:
    """tuple[Host, ...] -> Host, dict[str, NodePin] -> NodePin, X | None -> X."""
    for arg in (typing.get_args(annotation) or (annotation,))[::-1]:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg) if typing.get_args(arg) else None
        if inner is not None and isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _path(loc: tuple[Any, ...]) -> str:
    text = "eaf:"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(("function-", "union[")):
            continue
        else:
            text += ("" if i == 0 else ".") + str(part)
    return text


_VALIDATOR_STEP = re.compile(r"^(function-|union\[|literal\[)")


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and _VALIDATOR_STEP.match(p)))
        path, value, kind = _path(loc), item.get("input"), item["type"]
        if kind == "extra_forbidden":
            parent = _model_at(ClusterSpec, loc[:-1])
            allowed = _keys_of(parent) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(Problem(path, value, "unknown key (a typo, or a setting this project does not have)",
                                    f"{hint}remove it, or use one of: {', '.join(allowed)}"))
        elif kind == "missing":
            problems.append(Problem(path, None, "required setting is missing",
                                    "add it to the stack file or the baseline it builds on"))
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(Problem(path, value, message, _fix_for(kind, item)))
    return problems


def _fix_for(kind: str, item: Mapping[str, Any]) -> str:
    ctx = item.get("ctx") or {}
    if kind.startswith("int") or kind.startswith("float"):
        return "give a number" + (f" ({', '.join(f'{k} {v}' for k, v in ctx.items())})" if ctx else "")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"give a value {kind.replace('_', ' ')} {next(iter(ctx.values()))}"
    if kind == "literal_error":
        return f"use one of: {ctx.get('expected')}"
    if kind in ("bool_type", "bool_parsing"):
        return "give true or false"
    if kind in ("list_type", "tuple_type"):
        return "give a list"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "give a mapping of settings"
    if kind.startswith("ip_v4"):
        return "give an IPv4 address or network in dotted form, e.g. 10.20.0.0/24"
    return "see the field's description in docs/config.md"


def _top_level_problems(config: Mapping[str, Any]) -> list[Problem]:
    known = (*SPEC_KEYS, *LAYERING_KEYS, *SECRET_KEYS, *APP_SECRET_KEYS)
    problems = []
    for key in sorted(config):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean 'eaf:{close[0]}'? " if close else ""
            problems.append(Problem(
                f"eaf:{key}", config[key], "unknown key (a typo, or a setting this project does not have)",
                f"{hint}remove it, or use one of: {', '.join('eaf:' + k for k in known)}",
            ))
    return problems


_UNPINNED = re.compile(r"^(latest|stable|fast|candidate|nightly)(-.*)?$|^\d+\.\d+$")


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
                                f"use an {entry.os.upper()} image (see the supported pairs in the README)"))
    return release, resolved, problems


def load_spec(stack: str, own_config: Mapping[str, Any], project_dir: Path, check_secrets: bool = True) -> LoadedStack:
    """Validate one stack. `own_config` holds the stack's `eaf:*` keys without the namespace (secrets: any value).
    Tools outside the engine that need no secret (preflight, reports) pass `check_secrets=False`."""
    if own_config.get("layer") == "baseline":
        raise ConfigError(stack, [Problem("eaf:layer", "baseline",
                                          f"'{stack}' is the shared baseline other stacks build on, not a cluster",
                                          "deploy a stack that builds on it (e.g. -s prod-a or -s prod-b)")])
    config, baseline = layered(project_dir, own_config)
    problems = _top_level_problems(config)
    for key in SECRET_KEYS if check_secrets else ():
        if not config.get(key):
            problems.append(Problem(
                f"eaf:{key}", None, "required secret is missing",
                f"pulumi config set --secret eaf:{key} -s {stack} < FILE"
                + (" (OKD accepts the fake pull secret {\"auths\":{\"fake\":{\"auth\":\"aWQ6cGFzcwo=\"}}})"
                   if key == "pullSecret" else ""),
            ))
    spec_input = {k: v for k, v in config.items() if k in SPEC_KEYS}
    try:
        spec = ClusterSpec.model_validate(spec_input)
    except ValidationError as error:
        raise ConfigError(stack, problems + _pydantic_problems(error)) from None
    release, os_image, more = _pins(spec)
    problems += more
    plan, more = build_plan(spec, stack)
    problems += more
    # The apps' cross-checks (VO catalog, MIG slices, image pins, app secrets) need the plan and data files.
    from infra.apps.validate import app_problems

    # Without a plan (its problems are listed already) they would only repeat them in other words.
    if plan is not None:
        present = {key for key in APP_SECRET_KEYS if config.get(key)} if check_secrets else None
        problems += app_problems(spec.apps, plan, present, stack)
    if problems:
        raise ConfigError(stack, problems)
    assert plan is not None and release is not None and os_image is not None
    return LoadedStack(stack=stack, baseline=baseline, spec=spec, plan=plan, okd_release=release, os_image=os_image)

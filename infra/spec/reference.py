"""The config reference (docs/config.md), generated from the spec models so it can never drift from them."""

from __future__ import annotations

import json
from typing import Any

from infra.spec.cluster import APP_SECRET_KEYS, EXISTING_CLUSTER_SECRET_KEYS, SECRET_KEYS, ClusterSpec

_HEADER = """# Stack config reference

Generated from the spec models (`infra/spec/`) by `python -m infra config-reference > docs/config.md`; a test
fails when this file is out of date. Every key lives under the `eaf:` namespace of a `Pulumi.<stack>.yaml`.
Unknown keys are refused (with a did-you-mean), so a typo never silently falls back to a default.

| key | type | default | description |
|---|---|---|---|
"""


def _type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        return _type(defs[schema["$ref"].split("/")[-1]], defs) if "enum" in defs[schema["$ref"].split("/")[-1]] \
            else "mapping"
    if "enum" in schema:
        return " \\| ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "anyOf" in schema:
        return " or ".join(_type(s, defs) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), defs)}"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"map of {_type(extra, defs)}" if isinstance(extra, dict) else "mapping"
    return {"integer": "int", "number": "number", "string": "string", "boolean": "bool", "null": "null"}.get(kind, kind)


def _model_of(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """The nested model a field holds (directly, in a list, a map, or optional), if any."""
    candidates = [schema]
    for option in schema.get("anyOf", []):
        candidates.append(option)
    for candidate in list(candidates):
        for inner in ("items", "additionalProperties"):
            if isinstance(candidate.get(inner), dict):
                candidates.append(candidate[inner])
    for candidate in candidates:
        ref = candidate.get("$ref")
        if ref and "properties" in defs[ref.split("/")[-1]]:
            return defs[ref.split("/")[-1]]
    return None


def _rows(model: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(model.get("required", ()))
    for key, field in model.get("properties", {}).items():
        path = f"{prefix}{key}"
        default = "required" if key in required else json.dumps(field.get("default"), sort_keys=True)
        if len(default) > 40:
            default = "(see below)"
        description = (field.get("description") or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{path}` | {_type(field, defs)} | {default} | {description} |")
        nested = _model_of(field, defs)
        if nested is not None:
            suffix = "[]." if field.get("type") == "array" or any(
                s.get("type") == "array" for s in field.get("anyOf", [])) else (
                ".<name>." if field.get("type") == "object" and field.get("additionalProperties") else ".")
            rows += _rows(nested, defs, path + suffix)
    return rows


def config_reference() -> str:
    schema = ClusterSpec.model_json_schema(by_alias=True)
    rows = _rows(schema, schema.get("$defs", {}), "eaf:")
    secrets = "\n".join(f"| `eaf:{key}` | secret string | required unless eaf:existingCluster is set | "
                        "set with `pulumi config set --secret` |" for key in SECRET_KEYS)
    secrets += "\n" + "\n".join(
        f"| `eaf:{key}` | secret string | required when eaf:existingCluster is set | "
        "the cluster's kubeconfig, set with `pulumi config set --secret` |" for key in EXISTING_CLUSTER_SECRET_KEYS)
    secrets += "\n" + "\n".join(
        f"| `eaf:{key}` | secret string | required while an app that uses it is on | "
        "set with `pulumi config set --secret` |" for key in APP_SECRET_KEYS)
    return _HEADER + "\n".join(rows) + "\n" + secrets + "\n"

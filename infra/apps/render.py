"""Config file bodies from the jinja2 templates of infra/apps/templates (values placed, no logic inside)."""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from infra import templates

TEMPLATE_DIR = Path(__file__).parent / "templates"


def render(template: str, values: dict[str, Any]) -> str:
    return templates.render(TEMPLATE_DIR, template, **values)


def python_literals(values: dict[str, Any]) -> dict[str, str]:
    """Each value as a Python literal for a Python config file: exact, deterministic (insertion order kept), and
    wrapped so long lists stay readable when someone inspects the ConfigMap."""
    return {key: pprint.pformat(value, width=100, sort_dicts=False) for key, value in values.items()}


def static(name: str) -> str:
    """A template file without placeholders (a script shipped as-is in a ConfigMap)."""
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")

"""The text files Ignition writes, from ignition/templates. Templates place values; Python computes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra import templates

TEMPLATE_DIR = Path(__file__).parent / "templates"


def render_template(name: str, **values: Any) -> str:
    return templates.render(TEMPLATE_DIR, name, **values)

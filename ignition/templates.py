"""The jinja2 environment for the text files Ignition writes. Templates place values; Python computes them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # StrictUndefined: a value the code forgot to pass is an error, not an empty string in a boot config.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - config files, not HTML
    )


def render_template(name: str, **values: Any) -> str:
    return _environment().get_template(name).render(**values)

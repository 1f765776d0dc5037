"""The one way text is made from templates: jinja2 with values placed, never computed, in the template.

Every template dir of the project (Ignition files, install-config, the apps' config files, libvirt XML) renders
through `render`: StrictUndefined (a value the code forgot to pass is an error, never an empty string in a boot
config), block tags that leave no blank lines, the trailing newline kept. XML templates escape what they place.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any


@cache
def _environment(directory: Path, xml: bool):
    import jinja2  # only stages that render text pay for jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)), undefined=jinja2.StrictUndefined, autoescape=xml,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(directory: Path, name: str, xml: bool = False, **values: Any) -> str:
    """Template `name` of `directory` with `values`; `xml`: values are XML-escaped."""
    return _environment(directory.resolve(), xml).get_template(name).render(**values)

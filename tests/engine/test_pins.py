"""The engine's pins agree: the Kubernetes provider plugin the set-up builds and installs has the version the
pulumi-kubernetes SDK asks the engine for, and infra/data/versions.yaml (the stack output `pins`) says what is built.

The engine accepts only a plugin of exactly the requested version from its plugin cache and cannot download one
here, so a mismatch would make every Kubernetes resource fail with "no resource plugin 'kubernetes-v…' found".
"""

from __future__ import annotations

import json
import re
from importlib import resources

from infra.catalog import versions
from infra.paths import PROJECT_DIR
from tests.support.engine import go_tool_pin


def _requirement(file: str, name: str) -> str:
    text = (PROJECT_DIR / file).read_text(encoding="utf-8")
    found = re.findall(rf"^{name}==(\S+)$", text, flags=re.MULTILINE)
    assert len(found) == 1, f"{file} pins {name} {len(found)} times"
    return found[0]


def test_the_sdk_pinned_in_requirements_is_the_plugin_version_built() -> None:
    plugin = go_tool_pin("PULUMI_KUBERNETES_VERSION")
    assert _requirement("requirements.txt", "pulumi-kubernetes") == plugin
    assert _requirement("requirements.lock", "pulumi_kubernetes") == plugin


def test_the_installed_sdk_asks_the_engine_for_the_plugin_version_built() -> None:
    # pulumi-plugin.json is what the language host reports to the engine as the required plugin.
    plugin_json = json.loads(resources.files("pulumi_kubernetes").joinpath("pulumi-plugin.json").read_text())
    assert plugin_json == {"resource": True, "name": "kubernetes", "version": go_tool_pin("PULUMI_KUBERNETES_VERSION")}


def test_versions_yaml_shows_the_plugin_and_sdk_versions() -> None:
    plugin = go_tool_pin("PULUMI_KUBERNETES_VERSION")
    assert versions().tools["pulumi-kubernetes-plugin"] == f"v{plugin}"
    assert versions().providers["pulumi-kubernetes"] == plugin


def test_the_plugin_wrapper_module_requires_the_pinned_provider_module() -> None:
    go_mod = (PROJECT_DIR / "scripts" / "go" / "pulumi-kubernetes" / "go.mod").read_text(encoding="utf-8")
    module = go_tool_pin("PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION")
    assert f"require github.com/pulumi/pulumi-kubernetes/provider/v4 {module}\n" in go_mod


def test_versions_yaml_shows_the_engine_versions_built() -> None:
    assert versions().tools["pulumi-cli"] == f"v{go_tool_pin('PULUMI_VERSION')}"
    assert versions().tools["pulumi-language-python"] == f"v{go_tool_pin('PULUMI_LANGUAGE_PYTHON_SDK_VERSION')}"

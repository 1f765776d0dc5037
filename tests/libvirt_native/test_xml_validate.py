"""Every libvirt object of every stack, as the native backend renders it, passes libvirt's own schemas."""

from __future__ import annotations

import dataclasses
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.libvirt.native import render
from tests.libvirt_native.support import STACKS, documents, layouts, virt_xml_validate

pytestmark = pytest.mark.real


def _validate(tool: str, schema: str, path: Path) -> tuple[Path, int, str]:
    result = subprocess.run([tool, str(path), schema], capture_output=True, text=True, check=False)
    return path, result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_xml_passes_virt_xml_validate(stack, tmp_path):
    tool = virt_xml_validate()
    docs = documents(stack)
    jobs = []
    for name, (schema, xml) in docs.items():
        path = tmp_path / f"{name}.xml"
        path.write_text(xml)
        jobs.append((schema, path))
    # One batch per stack: a few dozen small validations, run side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: _validate(tool, *job), jobs))
    failures = [f"{path.name}: {output.strip()}" for path, code, output in results if code != 0]
    assert not failures, f"{stack}: libvirt rejects:\n" + "\n".join(failures)
    kinds = {schema for schema, _ in docs.values()}
    assert kinds == {"domain", "network", "storagepool", "storagevol"}, f"{stack}: validated only {kinds}"


def test_routed_network_xml_passes_virt_xml_validate(tmp_path):
    routed = dataclasses.replace(layouts("local")[0].network, mode="route")
    path = tmp_path / "routed.xml"
    path.write_text(render.network_xml(routed))
    _, code, output = _validate(virt_xml_validate(), "network", path)
    assert code == 0 and "<forward mode='route'/>" in path.read_text(), output

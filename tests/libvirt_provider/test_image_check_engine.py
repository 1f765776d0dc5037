"""The base-image checksum step under the real Pulumi engine (.tools/bin, built by scripts/bootstrap-engine.sh).

The pulumi-libvirt plugin cannot be installed here, but the step in front of its import is a Python dynamic
resource, and that part runs for real: `pulumi up` of a project holding the VerifiedImage of a pre-staged file
passes with the right pin and fails, naming the real checksum, with a wrong one; a second VerifiedImage downloads
an xz-compressed image from an HTTP server on loopback and hands over the decompressed file.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.engine import TOOLS_BIN, engine_env, missing_engine
from tests.support.http_files import FileServer

pytestmark = [pytest.mark.real, pytest.mark.slow]

STEP_TIMEOUT_S = 300
IMAGE = b"QFI\xfb" + b"verified by the engine" * 1000

PROGRAM = """\
import pulumi

from infra.libvirt.provider.image_check import VerifiedImage

config = pulumi.Config()
image = VerifiedImage("base-image-sha256", source={path!r}, sha256=config.require("sha256"), checksum_file=None,
                      uncompressed_sha256=None, cache_dir={cache!r})
pulumi.export("verified", image.verified_sha256)
packed = VerifiedImage("packed-image-sha256", source=config.require("xzUrl"), sha256=config.require("xzSha256"),
                       checksum_file=None, uncompressed_sha256=config.require("imageSha256"), cache_dir={cache!r})
pulumi.export("unpacked", packed.path)
"""


@dataclass
class Runs:
    good_up: subprocess.CompletedProcess
    outputs: dict
    bad_up: subprocess.CompletedProcess
    destroy: subprocess.CompletedProcess
    image: Path


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
                          check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    missing = missing_engine()
    if missing:
        pytest.fail(missing)
    work = tmp_path_factory.mktemp("image-check-engine")
    image = work / "base.qcow2"
    image.write_bytes(IMAGE)
    project = work / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: eaf-image-check\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text(PROGRAM.format(path=str(image), cache=str(work / "cache")), encoding="utf-8")
    (work / "state").mkdir()
    env = engine_env(work, "image-check-test", import_project=True)
    cli = [str(TOOLS_BIN / "pulumi"), "--non-interactive"]
    packed = lzma.compress(IMAGE)
    with FileServer({"/image.qcow2.xz": packed}) as server:
        for step in (["stack", "init", "check"], ["config", "set", "sha256", hashlib.sha256(IMAGE).hexdigest()],
                     ["config", "set", "xzUrl", server.url("/image.qcow2.xz")],
                     ["config", "set", "xzSha256", hashlib.sha256(packed).hexdigest()],
                     ["config", "set", "imageSha256", hashlib.sha256(IMAGE).hexdigest()]):
            done = _run([*cli, *step], project, env)
            assert done.returncode == 0, f"{step}: {done.stdout}\n{done.stderr}"
        good_up = _run([*cli, "up", "--yes"], project, env)
        output = _run([*cli, "stack", "output", "--json"], project, env)
        _run([*cli, "config", "set", "sha256", "0" * 64], project, env)
        bad_up = _run([*cli, "up", "--yes"], project, env)
        destroy = _run([*cli, "destroy", "--yes"], project, env)
    return Runs(good_up, json.loads(output.stdout or "{}"), bad_up, destroy, image)


def test_up_passes_and_reports_the_checksum_of_the_prestaged_image(runs):
    assert runs.good_up.returncode == 0, f"pulumi up failed:\n{runs.good_up.stdout}\n{runs.good_up.stderr}"
    assert runs.outputs["verified"] == hashlib.sha256(IMAGE).hexdigest(), runs.outputs


def test_a_downloaded_xz_image_is_handed_over_decompressed(runs):
    assert runs.good_up.returncode == 0, f"pulumi up failed:\n{runs.good_up.stdout}\n{runs.good_up.stderr}"
    unpacked = Path(runs.outputs["unpacked"])
    assert unpacked.name == "image.qcow2" and unpacked.read_bytes() == IMAGE, unpacked


def test_up_with_a_wrong_pin_fails_naming_the_real_checksum(runs):
    text = runs.bad_up.stdout + runs.bad_up.stderr
    assert runs.bad_up.returncode != 0, f"pulumi up accepted a wrong checksum:\n{text}"
    assert f"sha256 is {hashlib.sha256(IMAGE).hexdigest()} but the pin says {'0' * 64}" in text, text


def test_destroy_removes_the_check_and_leaves_the_prestaged_image(runs):
    assert runs.destroy.returncode == 0, f"pulumi destroy failed:\n{runs.destroy.stdout}\n{runs.destroy.stderr}"
    assert runs.image.read_bytes() == IMAGE, f"{runs.image}: the check must never touch the image it verifies"

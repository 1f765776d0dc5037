"""Fixtures of the image-scan tests: the scanners, a Grype DB from fixture records, a locally built image."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.images.buildah import BuildahOptions, plan, run
from infra.images.builds import FlavourImage, ImageBuild
from infra.images.scan import TOOLS_BIN, Scanners, import_db

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDS = Path(__file__).with_name("vulnerability-records")
BASE_ROOTFS = REPO_ROOT / ".tools" / "scan-test" / "debian-bookworm-essential.tar"
WORK_ROOT = REPO_ROOT / ".work" / "image-scan"
BASE_REFERENCE = "localhost/eaf-scan-test/debian-base:bookworm"
# Fixed, so the DB's provider capture dates do not depend on when the test ran.
DB_BUILT = "2026-01-05T00:00:00Z"


def _require(path: Path, how: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO_ROOT)} is missing: run `{how}`")
    return path


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="eaf-scan-", dir=WORK_ROOT))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def scanners(work_dir: Path) -> Scanners:
    """syft and grype as built by scripts/build-scan-tools.sh, with a DB written from the fixture records by
    grype's own DB build code and imported with `grype db import` (what an air-gapped site does)."""
    for tool in ("syft", "grype", "eaf-grype-fixture-db"):
        _require(TOOLS_BIN / tool, "bash scripts/build-scan-tools.sh")
    db_build = work_dir / "db-build"
    subprocess.run([str(TOOLS_BIN / "eaf-grype-fixture-db"), "-records", str(RECORDS), "-out", str(db_build),
                    "-built", DB_BUILT], check=True, capture_output=True, text=True)
    (archive,) = (db_build / "db").glob("vulnerability-db_*.tar.gz")
    tools = Scanners(db_dir=work_dir / "grype-db", offline_db=True)
    import_db(tools, archive)
    return tools


@dataclass(frozen=True)
class BuiltImage:
    image: FlavourImage
    archive: Path
    commands: list[list[str]]


@pytest.fixture(scope="session")
def built_image(work_dir: Path) -> Iterator[BuiltImage]:
    """A notebook image built by infra/images/buildah.py from a Debian 12 base that buildah makes from
    scripts/build-scan-test-base.sh's rootfs (no registry to pull a base from), in a storage of its own."""
    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed: run `bash scripts/install-system-packages.sh`")
    rootfs = _require(BASE_ROOTFS, "bash scripts/build-scan-test-base.sh")
    options = BuildahOptions(storage_root=work_dir / "storage", run_root=work_dir / "run", pull="never")
    buildah = ["buildah", "--root", str(options.storage_root), "--runroot", str(options.run_root),
               "--storage-driver", "vfs"]
    try:
        base = subprocess.run([*buildah, "from", "--name", "eaf-scan-test-base", "scratch"], check=True,
                              capture_output=True, text=True).stdout.strip()
        subprocess.run([*buildah, "add", base, str(rootfs), "/"], check=True, capture_output=True)
        subprocess.run([*buildah, "commit", "--rm", base, BASE_REFERENCE], check=True, capture_output=True)
        image = FlavourImage("scan-test", "localhost/eaf-scan-test/notebook:test",
                             ImageBuild(base=BASE_REFERENCE, user="1000"))
        archive = work_dir / "image.oci.tar"
        commands = plan(image, "eaf-scan-test-build", archive, "test-revision", options)
        run(commands)
        yield BuiltImage(image, archive, commands)
    finally:
        subprocess.run([*buildah, "rm", "--all"], check=False, capture_output=True)
        subprocess.run([*buildah, "rmi", "--all", "--force"], check=False, capture_output=True)

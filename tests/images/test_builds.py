"""The notebook image builds: one per VO flavour, pinned inputs, buildah command lines, the CI matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from infra.apps.catalog import load_catalog
from infra.cli import main
from infra.images.buildah import BuildahOptions, plan, push_command
from infra.images.builds import ImageBuild, ImageBuilds, build_problems, flavour_image, flavour_images, load_builds

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_vo_flavour_has_exactly_one_build_producing_its_pinned_image():
    catalog, _ = load_catalog("vo-catalog.yaml")
    assert build_problems(load_builds()) == []
    assert [i.flavour for i in flavour_images()] == sorted(catalog.flavours)
    assert flavour_image("fife").reference == "harbor.fnal.gov/eaf/notebook-fife:2024.06.1"


def test_the_ci_job_builds_and_scans_every_flavour():
    ci = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    (matrix,) = ci["notebook-image"]["parallel"]["matrix"]
    assert matrix["FLAVOUR"] == [i.flavour for i in flavour_images()]


def test_a_missing_build_an_unknown_flavour_and_unpinned_inputs_are_named():
    builds = load_builds().model_copy(deep=True)
    entries = dict(builds.builds)
    del entries["fife"]
    entries["atlas"] = ImageBuild(base="docker.io/library/almalinux:9.4")
    entries["dune-larsoft"] = ImageBuild.model_validate(
        {"base": "docker.io/library/almalinux:latest",
         "install": [{"with": "pip", "packages": ["jupyterlab"]}, {"with": "dnf", "packages": ["git"]}]})
    problems = {(p.path, p.why) for p in build_problems(ImageBuilds(builds=entries))}
    where = "infra/data/images/notebook-builds.yaml:builds"
    assert (f"{where}.fife", "a VO flavour has no image build") in problems
    assert (f"{where}.atlas", "no VO flavour of that name") in problems
    assert (f"{where}.dune-larsoft.base", "unpinned base image: tag 'latest' moves with every push") in problems
    assert (f"{where}.dune-larsoft.install[0]", "no version pinned for a pip package") in problems
    assert len(problems) == 4  # dnf packages follow the pinned base's release


@pytest.mark.parametrize("build", [{"scanOnly": True, "base": "docker.io/library/almalinux:9.4"}, {"user": "1000"}])
def test_a_build_is_either_scan_only_or_has_a_base(build):
    with pytest.raises(ValidationError):
        ImageBuild.model_validate(build)


def test_the_build_runs_each_install_step_as_root_then_sets_a_numeric_user_and_labels(tmp_path):
    image = flavour_image("dune-larsoft")
    commands = plan(image, "eaf-build-dune", tmp_path / "image.oci.tar", "abc123", BuildahOptions())
    assert commands[0] == ["buildah", "from", "--pull=missing", "--name", "eaf-build-dune",
                           "docker.io/library/almalinux:9.4"]
    runs = [c[c.index("--") + 1:] for c in commands if c[1] == "run"]
    assert runs[0][:3] == ["dnf", "install", "-y"] and "krb5-workstation" in runs[0]
    assert runs[2][:4] == ["python3", "-m", "pip", "install"] and "jupyterhub==5.2.1" in runs[2]
    assert all(c[2:4] == ["--user", "0"] for c in commands if c[1] == "run")
    config = next(c for c in commands if c[1] == "config")
    assert config[2:4] == ["--user", "1000:0"]
    assert "org.opencontainers.image.revision=abc123" in config
    assert commands[-2][-1] == image.reference  # committed under the pinned reference
    assert commands[-1] == ["buildah", "push", image.reference,
                            f"oci-archive:{tmp_path / 'image.oci.tar'}:{image.reference}"]
    assert push_command(image, BuildahOptions()) == ["buildah", "push", image.reference,
                                                      f"docker://{image.reference}"]


def test_a_scan_only_flavour_is_not_built(tmp_path):
    with pytest.raises(ValueError, match="scanOnly"):
        plan(flavour_image("coffea-dask"), "x", tmp_path / "a.tar", "r", BuildahOptions())


def test_the_flavours_command_lists_what_ci_builds_and_scans(capsys):
    assert main(["notebook-image", "flavours"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "coffea-dask\tscan-only\tdocker.io/coffeateam/coffea-dask-almalinux8:2024.5.0-py3.11" in lines
    assert "fife\tbuild\tharbor.fnal.gov/eaf/notebook-fife:2024.06.1" in lines


def test_scanning_an_unknown_flavour_is_refused(capsys, tmp_path):
    assert main(["notebook-image", "scan", "atlas", "--out", str(tmp_path)]) == 2
    assert "no image build for flavour 'atlas'" in capsys.readouterr().err

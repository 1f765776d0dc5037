"""`python -m infra notebook-image {flavours,build,scan} ...`: the VO flavours' notebook images in CI.

  flavours                 the flavours with an image build (one CI job each), and the reference each produces
  build FLAVOUR --out DIR  buildah: the flavour's image from its pinned base (infra/data/images/notebook-builds.yaml),
                           committed as its pinned reference and written to DIR/image.oci.tar for the scan
  scan FLAVOUR --out DIR   syft SBOM (DIR/sbom.syft.json, DIR/sbom.cdx.json), grype report (DIR/grype.json), then
                           the gate: fails on a finding at or above the allow-list's `failOn` that no current entry
                           names, and on any expired entry (infra/data/images/scan-allowlist.yaml)
  push FLAVOUR             buildah push of the built image to its pinned reference (CI runs it only after `scan`
                           passed, with the registry login done before)
Exit codes: 0 passed, 1 the scan gate failed, 2 bad input (unknown flavour, unusable allow-list, missing scanner).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notebook-image", help="build and scan the VO flavours' notebook images (CI)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="action", required=True)
    commands.add_parser("flavours", help="flavours with an image build and their references")
    build = commands.add_parser("build", help="build a flavour's image with buildah")
    build.add_argument("flavour")
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--revision", default="unknown", help="the commit the image is built from (CI_COMMIT_SHA)")
    scan = commands.add_parser("scan", help="SBOM + vulnerability scan + allow-list gate")
    scan.add_argument("flavour")
    scan.add_argument("--out", type=Path, required=True)
    scan.add_argument("--source", help="syft source (default: DIR/image.oci.tar, or registry:REF for scanOnly)")
    scan.add_argument("--allowlist", type=Path, help="default: infra/data/images/scan-allowlist.yaml")
    scan.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today, UTC)")
    push = commands.add_parser("push", help="push the built image to its pinned reference")
    push.add_argument("flavour")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.images.builds import ALLOWLIST_FILE, flavour_image, flavour_images

    if args.action == "flavours":
        for image in flavour_images():
            print(f"{image.flavour}\t{'scan-only' if image.build.scan_only else 'build'}\t{image.reference}")
        return 0
    try:
        image = flavour_image(args.flavour)
    except KeyError as error:
        print(f"notebook-image: {error.args[0]}", file=sys.stderr)
        return 2
    if args.action == "push":
        from infra.images.buildah import BuildahOptions, push_command
        from infra.images.buildah import run as run_buildah

        if image.build.scan_only:
            print(f"notebook-image: {image.flavour} runs the upstream {image.reference}: nothing to push")
            return 0
        run_buildah([push_command(image, BuildahOptions())])
        return 0
    archive = args.out / "image.oci.tar"
    if args.action == "build":
        from infra.images.buildah import BuildahOptions, plan
        from infra.images.buildah import run as run_buildah

        if image.build.scan_only:
            print(f"notebook-image: {image.flavour} runs {image.reference} as it is (scanOnly): nothing to build")
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        archive.unlink(missing_ok=True)
        run_buildah(plan(image, f"eaf-build-{image.flavour}", archive, args.revision, BuildahOptions()))
        return 0
    return _scan(args, image, archive, args.allowlist or ALLOWLIST_FILE)


def _scan(args: argparse.Namespace, image, archive: Path, allowlist_path: Path) -> int:
    from infra.images.scan import Scanners, scan
    from infra.images.scan_policy import AllowListError, load_allowlist

    try:
        allowlist = load_allowlist(allowlist_path)
    except AllowListError as error:
        print(f"notebook-image: {error}", file=sys.stderr)
        return 2
    source = args.source or (f"registry:{image.reference}" if image.build.scan_only else f"oci-archive:{archive}")
    today = args.today or dt.datetime.now(dt.UTC).date()
    try:
        result = scan(Scanners(), source, args.out, allowlist, today)
    except FileNotFoundError as error:
        print(f"notebook-image: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"notebook-image: {error}", file=sys.stderr)
        return 2
    print(f"{image.flavour} ({image.reference}):")
    print(result.verdict.render(allowlist.fail_on))
    return 0 if result.verdict.passed else 1

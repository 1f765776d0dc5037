"""The images the one-node cluster itself needs, built locally with tests/support/images.py.

- pause: the sandbox image containerd starts for every pod, holding upstream's pause.c of the pinned
  k8s.io/kubernetes module (scripts/build-k8s-tools.sh compiles it); tagged with the version it prints.
- busybox: Debian's busybox-static with every applet linked; the test image, and local-path-provisioner's helper.
- coredns, local-path-provisioner: the add-ons' binaries from their pinned Go modules.

All are named under `eaf.local/`: locally built, never pulled; the cluster's add-on manifests use these names.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.images import (
    DEFAULT_CACHE_DIR,
    BuiltImage,
    FilesLayer,
    ImageConfig,
    ImageFile,
    ImageSpec,
    build_image,
)

REGISTRY = "eaf.local"
BUSYBOX = Path("/bin/busybox")
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


class NodeImageError(RuntimeError):
    """An input of the node's images is missing or not what it should be."""


@dataclass(frozen=True)
class NodeImages:
    pause: BuiltImage
    busybox: BuiltImage
    coredns: BuiltImage
    local_path_provisioner: BuiltImage

    def all(self) -> tuple[BuiltImage, ...]:
        return (self.pause, self.busybox, self.coredns, self.local_path_provisioner)


def _version(argv: list[str], pattern: str) -> str:
    try:
        output = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as error:
        raise NodeImageError(f"{argv[0]} is missing: run scripts/build-k8s-tools.sh") from error
    match = re.search(pattern, output.stdout + output.stderr)
    if match is None:
        raise NodeImageError(f"{' '.join(argv)} printed no version matching {pattern!r}: {output.stdout!r}")
    return match.group(1)


def _busybox_version() -> str:
    if not BUSYBOX.is_file():
        raise NodeImageError(f"{BUSYBOX} is missing: run scripts/install-system-packages.sh (busybox-static)")
    return _version([str(BUSYBOX)], r"BusyBox v(\d+\.\d+\.\d+)")


def _text_file(cache_dir: Path, name: str, content: str) -> Path:
    path = cache_dir / "inputs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != content:
        path.write_text(content)
    return path


def _base_files(cache_dir: Path) -> tuple[ImageFile, ...]:
    return (
        ImageFile("/etc/passwd", source=_text_file(cache_dir, "passwd", _PASSWD), mode=0o644),
        ImageFile("/etc/group", source=_text_file(cache_dir, "group", _GROUP), mode=0o644),
        ImageFile("/tmp", mode=0o1777),
    )


def busybox_spec(cache_dir: Path = DEFAULT_CACHE_DIR) -> ImageSpec:
    listing = subprocess.run([str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=True, timeout=30)
    links = tuple(
        ImageFile(f"/{applet}", symlink_to="/bin/busybox")
        for applet in sorted(listing.stdout.split())
        if applet != "bin/busybox"
    )
    return ImageSpec(
        ref=f"{REGISTRY}/busybox:{_busybox_version()}",
        layers=(FilesLayer((ImageFile("/bin/busybox", source=BUSYBOX), *links, *_base_files(cache_dir))),),
        config=ImageConfig(cmd=("sh",)),
    )


def pause_spec(bin_dir: Path) -> ImageSpec:
    pause = bin_dir / "pause"
    tag = _version([str(pause), "-v"], r"pause\.c v(\d+\.\d+(?:\.\d+)?)")
    return ImageSpec(
        ref=f"{REGISTRY}/pause:{tag}",
        layers=(FilesLayer((ImageFile("/pause", source=pause),)),),
        # As upstream's image: run as nobody, the binary is the whole image.
        config=ImageConfig(entrypoint=("/pause",), user="65535:65535", env=()),
    )


def coredns_spec(bin_dir: Path, cache_dir: Path = DEFAULT_CACHE_DIR) -> ImageSpec:
    coredns = bin_dir / "coredns"
    version = _version([str(coredns), "-version"], r"CoreDNS-(\d+\.\d+\.\d+)")
    return ImageSpec(
        ref=f"{REGISTRY}/coredns:v{version}",
        layers=(FilesLayer((ImageFile("/coredns", source=coredns), *_base_files(cache_dir))),),
        config=ImageConfig(entrypoint=("/coredns",), exposed_ports=("53/tcp", "53/udp")),
    )


def local_path_provisioner_spec(bin_dir: Path, version: str) -> ImageSpec:
    binary = bin_dir / "local-path-provisioner"
    if not binary.is_file():
        raise NodeImageError(f"{binary} is missing: run scripts/build-k8s-tools.sh")
    return ImageSpec(
        ref=f"{REGISTRY}/local-path-provisioner:{version}",
        # Upstream's manifest runs `local-path-provisioner` by name, so it sits on PATH.
        layers=(FilesLayer((ImageFile("/usr/bin/local-path-provisioner", source=binary),)),),
        config=ImageConfig(entrypoint=("local-path-provisioner",)),
    )


def build_node_images(bin_dir: Path, lpp_version: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> NodeImages:
    """Build (or find cached) every image the cluster itself runs."""
    return NodeImages(
        pause=build_image(pause_spec(bin_dir), cache_dir),
        busybox=build_image(busybox_spec(cache_dir), cache_dir),
        coredns=build_image(coredns_spec(bin_dir, cache_dir), cache_dir),
        local_path_provisioner=build_image(local_path_provisioner_spec(bin_dir, lpp_version), cache_dir),
    )

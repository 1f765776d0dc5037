"""Container images built on this machine (no registry is reachable) and imported into a node's containerd.

An image is described by an `ImageSpec`: its reference, its layers (files picked from this machine, a directory
tree such as a debootstrapped root file system, or a ready-made tar) and its run config. `build_image` writes an
OCI image-layout archive under a cache directory, named by the content hash of everything that goes into it, so
an unchanged image is never rebuilt; `import_image` loads that archive into a containerd namespace with `ctr`
(what kubelet's CRI sees is namespace `k8s.io`). Layers are stored uncompressed: building and importing skip
gzip, which costs more than the disk it saves here. Everything is deterministic: entries sorted, owners and
times fixed, so the same inputs give the same digests on every machine.

    spec = ImageSpec(
        ref="eaf.local/busybox:1.35.0",
        layers=(FilesLayer((ImageFile("/bin/busybox", source=Path("/bin/busybox")),)),),
        config=ImageConfig(entrypoint=("/bin/busybox",), cmd=("sh",)),
    )
    built = build_image(spec)                     # cached in .work/images/
    import_image(built, containerd_address=sock)  # ctr -n k8s.io images import

`python -m tests.support.images build ...` does the same from a shell (see --help).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".work" / "images"
CRI_NAMESPACE = "k8s.io"
CTR_BIN = "ctr"

_DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Bump when the archive layout below changes, so old cache entries are not reused.
_FORMAT_VERSION = "1"
_REF_RE = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:[0-9]+)?"  # registry host[:port]
    r"(/[a-z0-9]+([._-][a-z0-9]+)*)+"  # /path/name
    r":[\w][\w.-]{0,127}$"  # :tag
)
_MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
_MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
_MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
_HASH_CHUNK = 1 << 20


class ImageSpecError(ValueError):
    """An ImageSpec that cannot be built; the message names the field, the value, why and the fix."""


class ImageImportError(RuntimeError):
    """ctr could not import an image archive."""


@dataclass(frozen=True)
class ImageFile:
    """One entry of a FilesLayer: a copy of `source`, a symlink, or (neither given) an empty directory."""

    path: str
    source: Path | None = None
    symlink_to: str | None = None
    mode: int | None = None  # default: the source's permission bits, 0o755 for a directory, 0o777 for a link
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class FilesLayer:
    """A layer of individually chosen entries; parent directories are added (0755, root) as needed."""

    files: tuple[ImageFile, ...]


@dataclass(frozen=True)
class DirectoryLayer:
    """A layer holding the tree under `root` (e.g. a debootstrapped root file system), owners kept, times fixed."""

    root: Path


@dataclass(frozen=True)
class TarLayer:
    """A ready-made, uncompressed tar used as the layer byte for byte (e.g. `mmdebstrap --format=tar`)."""

    path: Path


Layer = FilesLayer | DirectoryLayer | TarLayer


@dataclass(frozen=True)
class ImageConfig:
    """The OCI run config: what a container of this image runs, unless the pod overrides it."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (_DEFAULT_PATH,)
    working_dir: str = "/"
    user: str = ""
    exposed_ports: tuple[str, ...] = ()  # "8080/tcp"
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ImageSpec:
    ref: str  # registry/name:tag; a tag is required so kubelet's default pull policy is IfNotPresent
    layers: tuple[Layer, ...]
    config: ImageConfig = field(default_factory=ImageConfig)


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    archive: Path
    manifest_digest: str
    config_digest: str
    layer_digests: tuple[str, ...]
    size_bytes: int


# -- validation ----------------------------------------------------------------------------------------------------


def _validate(spec: ImageSpec) -> None:
    if not _REF_RE.match(spec.ref):
        raise ImageSpecError(
            f"ImageSpec.ref={spec.ref!r}: not a lower-case 'registry/name:tag' reference; "
            "why: containerd stores and kubelet resolves images by full name, and a missing tag means ':latest', "
            "which kubelet always tries to pull; fix: e.g. 'eaf.local/hub:5.2.1'"
        )
    if not spec.layers:
        raise ImageSpecError(f"ImageSpec.layers of {spec.ref}: empty; why: an image needs a file system; fix: a layer")
    for layer in spec.layers:
        if isinstance(layer, FilesLayer):
            for entry in layer.files:
                if not entry.path.startswith("/") or ".." in PurePosixPath(entry.path).parts:
                    raise ImageSpecError(
                        f"ImageFile.path={entry.path!r} in {spec.ref}: not absolute or climbs with '..'; "
                        "fix: an absolute path inside the image, e.g. '/bin/sh'"
                    )
                if entry.source is not None and entry.symlink_to is not None:
                    raise ImageSpecError(f"ImageFile {entry.path} in {spec.ref}: both source and symlink_to; fix: one")
                if entry.source is not None and not entry.source.is_file():
                    raise ImageSpecError(
                        f"ImageFile.source={entry.source} for {entry.path} in {spec.ref}: no such file; "
                        "fix: build or install it first (scripts/setup.sh)"
                    )
        elif isinstance(layer, DirectoryLayer):
            if not layer.root.is_dir():
                raise ImageSpecError(f"DirectoryLayer.root={layer.root} in {spec.ref}: not a directory")
        elif isinstance(layer, TarLayer):
            if not layer.path.is_file():
                raise ImageSpecError(f"TarLayer.path={layer.path} in {spec.ref}: no such file")
            if _is_compressed(layer.path):
                raise ImageSpecError(
                    f"TarLayer.path={layer.path} in {spec.ref}: compressed; why: layers are stored uncompressed "
                    "and a layer's digest is its tar's digest; fix: pass the plain tar"
                )


def _is_compressed(path: Path) -> bool:
    with path.open("rb") as handle:
        magic = handle.read(6)
    return magic.startswith((b"\x1f\x8b", b"\xfd7zXZ", b"BZh", b"\x28\xb5\x2f\xfd"))


# -- content hashing (the cache key) -------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_entries(root: Path) -> Iterable[tuple[str, Path]]:
    """(path inside the layer, path here) for every entry under root, parents before children, sorted."""
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        base = Path(current)
        rel_base = base.relative_to(root)
        names = sorted(dirs + files)
        for name in names:
            yield (rel_base / name).as_posix(), base / name


def _layer_key(layer: Layer) -> object:
    if isinstance(layer, TarLayer):
        return {"tar": _sha256_file(layer.path)}
    if isinstance(layer, DirectoryLayer):
        digest = hashlib.sha256()
        for rel, path in _tree_entries(layer.root):
            st = path.lstat()
            digest.update(f"{rel}\0{st.st_mode}\0{st.st_uid}\0{st.st_gid}\0".encode())
            if stat.S_ISREG(st.st_mode):
                digest.update(_sha256_file(path).encode())
            elif stat.S_ISLNK(st.st_mode):
                digest.update(os.readlink(path).encode())
        return {"dir": digest.hexdigest()}
    return {
        "files": [
            {
                "path": entry.path,
                "source": _sha256_file(entry.source) if entry.source is not None else None,
                "symlink_to": entry.symlink_to,
                "mode": _file_mode(entry),
                "uid": entry.uid,
                "gid": entry.gid,
            }
            for entry in layer.files
        ]
    }


def _cache_key(spec: ImageSpec) -> str:
    material = {
        "format": _FORMAT_VERSION,
        "ref": spec.ref,
        "layers": [_layer_key(layer) for layer in spec.layers],
        "config": asdict(spec.config),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


# -- layer tars --------------------------------------------------------------------------------------------------------


def _file_mode(entry: ImageFile) -> int:
    if entry.mode is not None:
        return entry.mode
    if entry.symlink_to is not None:
        return 0o777
    if entry.source is not None:
        return stat.S_IMODE(entry.source.stat().st_mode)
    return 0o755


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uname = ""
    info.gname = ""
    info.pax_headers = {}
    return info


def _write_files_layer(layer: FilesLayer, out: tarfile.TarFile) -> None:
    entries = {PurePosixPath(entry.path).as_posix().lstrip("/"): entry for entry in layer.files}
    parents = {str(parent) for name in entries for parent in PurePosixPath(name).parents if str(parent) != "."}
    for name in sorted(parents | set(entries)):
        entry = entries.get(name)
        info = tarfile.TarInfo(name)
        if entry is None or (entry.source is None and entry.symlink_to is None):
            info.type = tarfile.DIRTYPE
            info.mode = 0o755 if entry is None else _file_mode(entry)
            out.addfile(_normalized(_owned(info, entry)))
        elif entry.symlink_to is not None:
            info.type = tarfile.SYMTYPE
            info.linkname = entry.symlink_to
            info.mode = _file_mode(entry)
            out.addfile(_normalized(_owned(info, entry)))
        else:
            info.size = entry.source.stat().st_size
            info.mode = _file_mode(entry)
            with entry.source.open("rb") as handle:
                out.addfile(_normalized(_owned(info, entry)), handle)


def _owned(info: tarfile.TarInfo, entry: ImageFile | None) -> tarfile.TarInfo:
    if entry is not None:
        info.uid, info.gid = entry.uid, entry.gid
    return info


def _write_directory_layer(layer: DirectoryLayer, out: tarfile.TarFile) -> None:
    for rel, path in _tree_entries(layer.root):
        info = out.gettarinfo(str(path), arcname=rel)
        if info.isreg():
            with path.open("rb") as handle:
                out.addfile(_normalized(info), handle)
        else:
            out.addfile(_normalized(info))


def _layer_tar(layer: Layer, workdir: Path) -> Path:
    if isinstance(layer, TarLayer):
        return layer.path
    fd, name = tempfile.mkstemp(suffix=".tar", dir=workdir)
    os.close(fd)
    path = Path(name)
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as out:
        if isinstance(layer, FilesLayer):
            _write_files_layer(layer, out)
        else:
            _write_directory_layer(layer, out)
    return path


# -- the OCI archive ---------------------------------------------------------------------------------------------------


def _json_blob(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _add_bytes(out: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    out.addfile(_normalized(info), io.BytesIO(data))


def _add_dir(out: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    out.addfile(_normalized(info))


def _oci_config(spec: ImageSpec, diff_ids: list[str]) -> dict:
    run: dict = {"Env": list(spec.config.env), "WorkingDir": spec.config.working_dir}
    if spec.config.entrypoint:
        run["Entrypoint"] = list(spec.config.entrypoint)
    if spec.config.cmd:
        run["Cmd"] = list(spec.config.cmd)
    if spec.config.user:
        run["User"] = spec.config.user
    if spec.config.exposed_ports:
        run["ExposedPorts"] = {port: {} for port in spec.config.exposed_ports}
    if spec.config.labels:
        run["Labels"] = dict(spec.config.labels)
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "tests/support/images.py"} for _ in diff_ids],
    }


def _safe_name(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ref)


def build_image(spec: ImageSpec, cache_dir: Path = DEFAULT_CACHE_DIR) -> BuiltImage:
    """The OCI archive of `spec`, built once per content hash; later calls return the cached one."""
    _validate(spec)
    key = _cache_key(spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / f"{_safe_name(spec.ref)}-{key[:20]}.tar"
    meta_path = archive.with_suffix(".json")
    if archive.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        return BuiltImage(
            ref=meta["ref"],
            archive=archive,
            manifest_digest=meta["manifest_digest"],
            config_digest=meta["config_digest"],
            layer_digests=tuple(meta["layer_digests"]),
            size_bytes=archive.stat().st_size,
        )

    with tempfile.TemporaryDirectory(prefix="build-", dir=cache_dir) as tmp:
        workdir = Path(tmp)
        layer_paths = [_layer_tar(layer, workdir) for layer in spec.layers]
        layer_digests = [f"sha256:{_sha256_file(path)}" for path in layer_paths]
        config = _json_blob(_oci_config(spec, layer_digests))
        config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
        manifest = _json_blob(
            {
                "schemaVersion": 2,
                "mediaType": _MEDIA_MANIFEST,
                "config": {"mediaType": _MEDIA_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [
                    {"mediaType": _MEDIA_LAYER, "digest": digest, "size": path.stat().st_size}
                    for digest, path in zip(layer_digests, layer_paths, strict=True)
                ],
            }
        )
        manifest_digest = f"sha256:{hashlib.sha256(manifest).hexdigest()}"
        index = _json_blob(
            {
                "schemaVersion": 2,
                "mediaType": _MEDIA_INDEX,
                "manifests": [
                    {
                        "mediaType": _MEDIA_MANIFEST,
                        "digest": manifest_digest,
                        "size": len(manifest),
                        "platform": {"architecture": "amd64", "os": "linux"},
                        "annotations": {
                            # containerd names the imported image after this one...
                            "io.containerd.image.name": spec.ref,
                            # ...and OCI tools after the tag.
                            "org.opencontainers.image.ref.name": spec.ref.rsplit(":", 1)[1],
                        },
                    }
                ],
            }
        )
        partial = workdir / "image.tar"
        with tarfile.open(partial, "w", format=tarfile.GNU_FORMAT) as out:
            _add_bytes(out, "oci-layout", _json_blob({"imageLayoutVersion": "1.0.0"}))
            _add_bytes(out, "index.json", index)
            _add_dir(out, "blobs")
            _add_dir(out, "blobs/sha256")
            _add_bytes(out, f"blobs/sha256/{config_digest.split(':')[1]}", config)
            _add_bytes(out, f"blobs/sha256/{manifest_digest.split(':')[1]}", manifest)
            written = set()
            for digest, path in zip(layer_digests, layer_paths, strict=True):
                if digest in written:
                    continue
                written.add(digest)
                info = tarfile.TarInfo(f"blobs/sha256/{digest.split(':')[1]}")
                info.size = path.stat().st_size
                info.mode = 0o644
                with path.open("rb") as handle:
                    out.addfile(_normalized(info), handle)
        os.replace(partial, archive)
    meta_path.write_text(
        json.dumps(
            {
                "ref": spec.ref,
                "manifest_digest": manifest_digest,
                "config_digest": config_digest,
                "layer_digests": layer_digests,
            },
            indent=2,
        )
    )
    return BuiltImage(
        ref=spec.ref,
        archive=archive,
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        layer_digests=tuple(layer_digests),
        size_bytes=archive.stat().st_size,
    )


# -- containerd --------------------------------------------------------------------------------------------------------


def _ctr(address: Path, namespace: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    ctr = shutil.which(CTR_BIN)
    if ctr is None:
        raise ImageImportError("ctr is not installed: run scripts/install-system-packages.sh (Debian's containerd)")
    return subprocess.run(
        [ctr, "--address", str(address), "--namespace", namespace, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def imported_refs(containerd_address: Path, namespace: str = CRI_NAMESPACE) -> set[str]:
    result = _ctr(containerd_address, namespace, "images", "list", "--quiet", timeout=60)
    if result.returncode != 0:
        raise ImageImportError(f"ctr images list failed ({result.returncode}): {result.stderr.strip()}")
    return set(result.stdout.split())


def import_image(
    image: BuiltImage, containerd_address: Path, namespace: str = CRI_NAMESPACE, timeout: float = 600
) -> None:
    """Load the archive into containerd (unpacked for its default snapshotter) and check the name arrived."""
    result = _ctr(containerd_address, namespace, "images", "import", str(image.archive), timeout=timeout)
    if result.returncode != 0:
        raise ImageImportError(
            f"ctr images import {image.archive} ({image.ref}) failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    if image.ref not in imported_refs(containerd_address, namespace):
        raise ImageImportError(
            f"ctr imported {image.archive} but containerd has no image named {image.ref}: {result.stdout.strip()}"
        )


# -- command line --------------------------------------------------------------------------------------------------


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.images", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or find cached) an OCI archive; prints its BuiltImage as JSON")
    build.add_argument("--ref", required=True)
    build.add_argument(
        "--layer", action="append", required=True, type=Path, help="uncompressed tar or directory; repeat, lowest first"
    )
    build.add_argument("--entrypoint", default="[]", help='JSON list, e.g. ["/usr/bin/python3"]')
    build.add_argument("--cmd", default="[]", help="JSON list")
    build.add_argument("--env", action="append", default=[], help="NAME=value (repeatable; PATH is set by default)")
    build.add_argument("--workdir", default="/")
    build.add_argument("--user", default="")
    build.add_argument("--expose", action="append", default=[], help="e.g. 8080/tcp (repeatable)")
    build.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    imp = sub.add_parser("import", help="import archives into a containerd")
    imp.add_argument("--address", required=True, type=Path, help="containerd's socket")
    imp.add_argument("--namespace", default=CRI_NAMESPACE)
    imp.add_argument("archive", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "build":
        layers = [DirectoryLayer(path) if path.is_dir() else TarLayer(path) for path in args.layer]
        env = tuple(args.env) if any(e.startswith("PATH=") for e in args.env) else (_DEFAULT_PATH, *args.env)
        spec = ImageSpec(
            ref=args.ref,
            layers=tuple(layers),
            config=ImageConfig(
                entrypoint=tuple(json.loads(args.entrypoint)),
                cmd=tuple(json.loads(args.cmd)),
                env=env,
                working_dir=args.workdir,
                user=args.user,
                exposed_ports=tuple(args.expose),
            ),
        )
        built = build_image(spec, args.cache_dir)
        print(json.dumps({**asdict(built), "archive": str(built.archive)}, indent=2))
        return 0
    for archive in args.archive:
        result = _ctr(args.address, args.namespace, "images", "import", str(archive), timeout=600)
        if result.returncode != 0:
            print(result.stderr, end="")
            return result.returncode
        print(result.stdout, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

"""`python -m infra render --stack STACK --out DIR`: every node's Ignition of a stack, one `<node>.ign` per node.

Runs without the Pulumi engine and without any hypervisor: it validates the stack's config exactly as the program
does, then renders with the same functions `ignition.node_configs` uses. OKD's configs come from an
openshift-install asset folder when there is one (`--okd-assets`, default: `assets/` in the stack's
okd.install.workDir, where the install step keeps them); otherwise the nodes get the pointers to the machine-config
server that a stack with the install off boots, and bootstrap only its node specifics. `--expand` also writes every
node's files and units decoded under `<node>.d/`, to read what will boot (ignition/expand.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from infra.paths import PROJECT_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="write every node's Ignition of a stack to a folder, one <node>.ign per node",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev, prod-a, local")
    parser.add_argument("--out", required=True, type=Path, help="folder to write <node>.ign files to")
    parser.add_argument("--ssh-public-keys", type=Path, metavar="FILE",
                        help="authorized keys for user core, one per line (default: none)")
    parser.add_argument("--okd-assets", type=Path, metavar="DIR",
                        help="openshift-install's asset folder with master.ign, worker.ign (and bootstrap.ign)")
    parser.add_argument("--expand", action="store_true",
                        help="also write each node's files and units decoded, under <node>.d/, to read them")
    parser.set_defaults(run=run)


def _keys(path: Path | None) -> list[str]:
    if path is None:
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class ForeignAssetsError(ValueError):
    """The OKD asset folder was made for another cluster than the stack's."""


def foreign_asset_problems(assets_dir: Path, cluster_name: str, domain: str) -> list[str]:
    """Why the asset folder is not this cluster's: metadata.json's clusterName, and the machine-config server the
    role pointers name (https://api-int.<domain>:22623/config/<role>)."""
    problems = []
    metadata = assets_dir / "metadata.json"
    if metadata.is_file():
        try:
            owner = json.loads(metadata.read_text(encoding="utf-8")).get("clusterName")
        except (ValueError, AttributeError):
            owner = None
        if owner != cluster_name:
            problems.append(f"{metadata} names cluster {owner!r}, the stack's is {cluster_name!r}")
    for role in ("master", "worker"):
        pointer = assets_dir / f"{role}.ign"
        try:
            merged = json.loads(pointer.read_text(encoding="utf-8"))["ignition"]["config"]["merge"]
            sources = [m["source"] for m in merged]
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{pointer} is not a pointer config (ignition.config.merge[].source)")
            continue
        wanted = f"https://api-int.{domain}:22623/config/{role}"
        if wanted not in sources:
            problems.append(f"{pointer} points at {', '.join(sources) or 'nothing'}, not at {wanted}")
    return problems


def _okd_configs(loaded, assets_dir: Path | None):
    from ignition.render import OkdConfigs
    from infra.okd.pointers import mcs_pointer

    if assets_dir is None:
        work_dir = Path(loaded.spec.okd.install.work_dir.replace("{stack}", loaded.stack)).expanduser()
        default = PROJECT_DIR / work_dir / "assets"
        assets_dir = default if (default / "master.ign").is_file() else None
    if assets_dir is None:
        print("render: no openshift-install assets: pointers to the machine-config server (without its CA); "
              "bootstrap gets its node specifics only")
        return OkdConfigs(mcs_pointer(loaded.plan.domain, "master"), mcs_pointer(loaded.plan.domain, "worker"), None)
    problems = foreign_asset_problems(assets_dir, loaded.plan.cluster_name, loaded.plan.domain)
    if problems:
        raise ForeignAssetsError(f"the OKD assets in {assets_dir} are not stack {loaded.stack}'s cluster "
                                 f"{loaded.plan.domain}: " + "; ".join(problems) + ". Give --okd-assets the "
                                 "stack's own asset folder (its okd.install.workDir/assets)")
    print(f"render: OKD's configs from {assets_dir}")
    bootstrap = assets_dir / "bootstrap.ign"
    return OkdConfigs(
        master_pointer=(assets_dir / "master.ign").read_text(encoding="utf-8"),
        worker_pointer=(assets_dir / "worker.ign").read_text(encoding="utf-8"),
        bootstrap=bootstrap.read_text(encoding="utf-8") if bootstrap.is_file() else None,
    )


def _write_private(path: Path, text: str) -> None:
    """0600 from the start: bootstrap.ign holds the pull secret. Replaced atomically, so a reader never sees half."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)  # a leftover could have a wider mode, which O_CREAT would keep
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def run(args: argparse.Namespace) -> int:
    from ignition.expand import expand
    from ignition.render import render_stack
    from infra.spec.errors import ConfigError
    from infra.spec.layering import read_stack_file, stack_file
    from infra.spec.load import load_spec
    from infra.stages import ignition_input

    if not stack_file(PROJECT_DIR, args.stack).is_file():
        print(f"render: no stack '{args.stack}': {stack_file(PROJECT_DIR, args.stack)} does not exist", file=sys.stderr)
        return 2
    try:
        # Secrets are not in stack files (Pulumi encrypts them) and render reads none: SSH keys come from
        # --ssh-public-keys, the pull secret only inside OKD's bootstrap.ign.
        loaded = load_spec(args.stack, read_stack_file(PROJECT_DIR, args.stack), PROJECT_DIR, check_secrets=False)
        keys = _keys(args.ssh_public_keys)
        if not keys:
            print("render: no --ssh-public-keys: user core gets no SSH keys in these files")
        configs = render_stack(ignition_input(loaded), _okd_configs(loaded, args.okd_assets), keys)
    except (ConfigError, ForeignAssetsError) as error:
        print(f"render: {error}" if isinstance(error, ForeignAssetsError) else str(error), file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 1

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Files of nodes the stack no longer has would look like what boots; they go.
    for stale in sorted(set(out.glob("*.ign")) - {out / f"{name}.ign" for name in configs}):
        stale.unlink()
        if stale.with_suffix(".d").is_dir():
            shutil.rmtree(stale.with_suffix(".d"))
        print(f"render: removed {stale} (no such node now)")
    for name, text in configs.items():
        _write_private(out / f"{name}.ign", text)
        if args.expand:
            expand(text, out / f"{name}.d")
        node = loaded.plan.node(name)
        print(f"  {name + '.ign':<16} {len(text.encode()):>8} bytes  {node.role.value}")
    print(f"render: stack {args.stack}: {len(configs)} node(s) -> {out}")
    return 0

#!/usr/bin/env python3
"""The OKD install steps that the program's step resources (infra/okd/step_provider.py) run on the operator's machine.

Usage: python3 infra/okd/scripts/okd_step.py STEP   (from the project dir; parameters in EAF_* environment
variables, the install-config on stdin, results on stdout). Standard library only, so it runs with any python3.

Layout of the per-stack work dir (EAF_WORK_DIR):
  bin/openshift-install   the verified installer (a link into the cache, or to the pre-staged binary)
  assets/                 openshift-install's --dir: install-config, manifests, *.ign, auth/
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

IGNITION_FILES = ("bootstrap.ign", "master.ign", "worker.ign")
AUTH_FILES = ("auth/kubeconfig", "auth/kubeadmin-password")
SCHEDULER_MANIFEST = "manifests/cluster-scheduler-02-config.yml"
# UPI: the cluster does not manage these machines, so the Machine API objects the installer writes must go.
MACHINE_API_MANIFESTS = ("openshift/99_openshift-cluster-api_master-machines-*.yaml",
                         "openshift/99_openshift-cluster-api_worker-machineset-*.yaml",
                         "openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml")
CSR_CLIENT_REQUESTOR = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"


class StepError(Exception):
    """A failed step: the message says what went wrong and what to do; exit code 1 (or the installer's)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise StepError(f"{name} is not set (the program sets it on the Command resource)")
    return value


def _progress(message: str) -> None:
    print(f"okd-step: {message}", file=sys.stderr, flush=True)


def work_dir() -> Path:
    return Path(os.path.expanduser(_env("EAF_WORK_DIR")))


def assets_dir() -> Path:
    return work_dir() / "assets"


def installer_link() -> Path:
    return work_dir() / "bin" / "openshift-install"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _installer_version(binary: Path, release: str) -> str:
    """`openshift-install version`'s first line, after checking it is the pinned release."""
    result = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=120, check=False)
    first = (result.stdout.splitlines() or [""])[0].strip()
    if result.returncode != 0:
        raise StepError(f"{binary} version failed (exit {result.returncode}): {result.stderr.strip()}")
    if release not in first.split():
        raise StepError(f"{binary} is '{first}', not the pinned release {release}: stage the installer of "
                        f"{release}, or pin the release it is (infra/data/versions.yaml)")
    return first


def _download(url: str, target: Path) -> None:
    _progress(f"downloading {url}")
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:  # noqa: S310 - pinned URL
        shutil.copyfileobj(response, out)


def _extract_installer(archive: Path, into: Path) -> Path:
    """Only the `openshift-install` member, never a path from the archive (no traversal)."""
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if m.isfile() and Path(m.name).name == "openshift-install"), None)
        if member is None:
            raise StepError(f"{archive} has no openshift-install file: is the pinned URL the installer archive?")
        source = tar.extractfile(member)
        assert source is not None
        target = into / "openshift-install"
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    target.chmod(0o755)
    return target


def _cached_installer(release: str, url: str, sha256: str) -> Path:
    cache = Path(os.path.expanduser(_env("EAF_INSTALLER_CACHE"))) / release
    binary, marker = cache / "openshift-install", cache / "archive.sha256"
    if binary.is_file() and marker.is_file() and marker.read_text().strip() == sha256:
        _progress(f"cached: {binary}")
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        archive = Path(scratch) / "installer.tar.gz"
        try:
            _download(url, archive)
        except OSError as error:
            raise StepError(f"cannot download {url}: {error}. On an air-gapped site put the installer binary of "
                            f"{release} somewhere and set eaf:okd.install.installerPath to it") from None
        found = _sha256(archive)
        if found != sha256:
            raise StepError(f"checksum mismatch for {url}: pinned sha256 {sha256}, downloaded {found}. If the "
                            f"download is the genuine release, pin {found} in infra/data/versions.yaml "
                            f"(okd.releases.{release}.installer.sha256); otherwise do not use it")
        staged = _extract_installer(archive, Path(scratch))
        os.replace(staged, binary)
    marker.write_text(sha256 + "\n")
    return binary


def step_fetch_installer() -> None:
    release = _env("EAF_RELEASE")
    staged = os.environ.get("EAF_INSTALLER_PATH", "")
    if staged:
        binary = Path(os.path.expanduser(staged))
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise StepError(f"eaf:okd.install.installerPath {staged} is not an executable file")
    else:
        binary = _cached_installer(release, _env("EAF_INSTALLER_URL"), _env("EAF_INSTALLER_SHA256"))
    version = _installer_version(binary, release)
    link = installer_link()
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(binary.resolve())
    print(json.dumps({"installer": str(link), "version": version}, sort_keys=True))


def _run_installer(*args: str) -> str:
    """Run the installer in the assets dir; its log goes to stderr with the kubeadmin password line redacted."""
    binary = installer_link()
    if not binary.exists():
        raise StepError(f"{binary} is missing: the fetch-installer step has not run for this work dir")
    _progress("openshift-install " + " ".join(args))
    result = subprocess.run([str(binary), *args, "--dir", str(assets_dir())], capture_output=True, text=True,
                            check=False)
    log = "\n".join("(line with the kubeadmin password redacted)" if "password" in line else line
                    for line in (result.stdout + result.stderr).splitlines())
    print(log, file=sys.stderr, flush=True)
    if result.returncode != 0:
        raise StepError(f"openshift-install {' '.join(args)} failed (exit {result.returncode}); its log is above "
                        f"and in {assets_dir() / '.openshift_install.log'}", code=result.returncode)
    return log


def _set_masters_schedulable(assets: Path, schedulable: bool) -> None:
    manifest = assets / SCHEDULER_MANIFEST
    if not manifest.is_file():
        raise StepError(f"{manifest} is missing after `create manifests`: this installer writes another layout")
    text = manifest.read_text()
    changed, count = re.subn(r"(?m)^(\s*mastersSchedulable:\s*)(true|false)\s*$",
                             lambda m: m.group(1) + ("true" if schedulable else "false"), text)
    if count != 1:
        raise StepError(f"{manifest} has {count} mastersSchedulable settings, expected exactly 1")
    manifest.write_text(changed)


def _add_extra_manifests(assets: Path, extra: str) -> list[str]:
    source = Path(extra)
    files = sorted(p for p in source.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if source.is_dir() else []
    if not files:
        raise StepError(f"eaf:okd.install.extraManifests {extra} has no .yaml/.yml files")
    added = []
    for path in files:
        target = assets / "openshift" / path.name
        if target.exists():
            raise StepError(f"extra manifest {path} would overwrite the installer's {target.name}: rename it")
        shutil.copyfile(path, target)
        added.append(f"openshift/{path.name}")
    return added


def step_create_manifests() -> None:
    assets = assets_dir()
    # A fresh install starts from nothing: the installer would otherwise reuse the previous run's state (certs).
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True, mode=0o700)
    config = sys.stdin.read()
    if not config.strip():
        raise StepError("no install-config on stdin (the program passes it as the Command's stdin)")
    target = assets / "install-config.yaml"
    target.write_text(config)
    target.chmod(0o600)
    _run_installer("create", "manifests")
    schedulable = _env("EAF_MASTERS_SCHEDULABLE") == "true"
    _set_masters_schedulable(assets, schedulable)
    removed = []
    for pattern in MACHINE_API_MANIFESTS:
        for path in sorted(assets.glob(pattern)):
            path.unlink()
            removed.append(str(path.relative_to(assets)))
    extra = os.environ.get("EAF_EXTRA_MANIFESTS", "")
    added = _add_extra_manifests(assets, extra) if extra else []
    print(json.dumps({"mastersSchedulable": schedulable, "removed": removed, "added": added}, sort_keys=True))


def _read_bundle(assets: Path) -> dict[str, str]:
    bundle = {}
    for name in IGNITION_FILES + AUTH_FILES:
        path = assets / name
        if not path.is_file():
            raise StepError(f"{path} is missing: the work dir {work_dir()} is not the one this stack installed "
                            "from (restore it, or let a trigger change re-create the install assets)")
        bundle[name] = path.read_text()
    for name in IGNITION_FILES:
        try:
            json.loads(bundle[name])
        except json.JSONDecodeError as error:
            raise StepError(f"{assets / name} is not JSON: {error}") from None
    return bundle


def _check_pointers(bundle: dict[str, str]) -> None:
    """master.ign / worker.ign must point at this cluster's machine-config server (a stale or foreign work dir
    would hand every node another cluster's config)."""
    domain = _env("EAF_CLUSTER_DOMAIN")
    for role in ("master", "worker"):
        wanted = f"https://api-int.{domain}:22623/config/{role}"
        merged = json.loads(bundle[f"{role}.ign"]).get("ignition", {}).get("config", {}).get("merge", [])
        if wanted not in [m.get("source") for m in merged]:
            raise StepError(f"{role}.ign does not point at {wanted}: the work dir {work_dir()} belongs to another "
                            "cluster")


def step_create_ignition_configs() -> None:
    _run_installer("create", "ignition-configs")
    bundle = _read_bundle(assets_dir())
    _check_pointers(bundle)
    print(json.dumps(bundle, sort_keys=True))


def step_read_ignition_configs() -> None:
    """The update of the ignition-configs Command: no trigger changed, so hand back the same files unchanged."""
    bundle = _read_bundle(assets_dir())
    _check_pointers(bundle)
    print(json.dumps(bundle, sort_keys=True))


def step_keep() -> None:
    """The update of a one-time step whose triggers did not change: nothing to do, say so."""
    print(json.dumps({"kept": True}))


def step_wait_bootstrap_complete() -> None:
    _run_installer("wait-for", "bootstrap-complete", "--log-level", "info")
    print(json.dumps({"bootstrapComplete": True}))


def step_wait_install_complete() -> None:
    _run_installer("wait-for", "install-complete", "--log-level", "info")
    print(json.dumps({"installComplete": True}))


# Runs on the load balancer (FCOS: bash, awk; no socat): talks to HAProxy's runtime API over loopback TCP and puts
# every server named `bootstrap` into maintenance. Arguments: host port.
LB_REMOTE_SCRIPT = r"""set -euo pipefail
# `|| return`: a failed connect does not stop bash in a function run under `||`.
api() { exec 3<>"/dev/tcp/$1/$2" || return 1; printf '%s\n' "$3" >&3; cat <&3; exec 3<&-; }
state=$(api "$1" "$2" "show servers state") || { echo "no-runtime-api"; exit 3; }
for backend in $(awk '$4 == "bootstrap" {print $2}' <<<"$state" | sort -u); do
  api "$1" "$2" "disable server $backend/bootstrap" >/dev/null
  echo "disabled $backend/bootstrap"
done
"""


def step_lb_remove_bootstrap() -> None:
    host, port = _env("EAF_LB_RUNTIME_API").rsplit(":", 1)
    target = f"{_env('EAF_LB_SSH_USER')}@{_env('EAF_LB_HOST')}"
    command = [os.environ.get("EAF_SSH", "ssh"), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
               "-o", "ConnectTimeout=20", target, "bash", "-s", "--", host, port]
    _progress(f"taking the bootstrap servers out of the load balancer at {target}")
    result = subprocess.run(command, input=LB_REMOTE_SCRIPT, capture_output=True, text=True, timeout=120,
                            check=False)
    if result.returncode == 3 or "no-runtime-api" in result.stdout:
        raise StepError(f"HAProxy on {target} has no runtime API at {host}:{port}: its config needs "
                        f"`stats socket ipv4@{host}:{port} level admin` (or set eaf:okd.install.lbRuntimeApi)")
    if result.returncode != 0:
        raise StepError(f"ssh {target} failed (exit {result.returncode}): {result.stderr.strip()}")
    disabled = sorted(line.split()[1] for line in result.stdout.splitlines() if line.startswith("disabled "))
    if not disabled:
        _progress("no server named bootstrap in the load balancer: nothing to take out")
    print(json.dumps({"disabled": disabled}, sort_keys=True))


def _kube_cli() -> str:
    for candidate in (os.environ.get("EAF_KUBE_CLI", ""), "oc", "kubectl", ".tools/bin/kubectl"):
        if candidate and (shutil.which(candidate) or Path(candidate).is_file()):
            return shutil.which(candidate) or candidate
    raise StepError("neither oc nor kubectl is on PATH (scripts/build-k8s-tools.sh builds kubectl into .tools/bin)")


def _kube(cli: str, *args: str) -> dict:
    kubeconfig = assets_dir() / "auth" / "kubeconfig"
    result = subprocess.run([cli, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise StepError(f"{Path(cli).name} {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def _ready_nodes(nodes: dict) -> set[str]:
    ready = set()
    for item in nodes.get("items", []):
        conditions = item.get("status", {}).get("conditions", [])
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready.add(item["metadata"]["name"])
    return ready


def _matches(expected: str, node_names: set[str]) -> bool:
    """A node registers under its short name or its FQDN, depending on how its hostname was set."""
    return any(name == expected or name.startswith(expected + ".") for name in node_names)


def approvable(csrs: dict, expected: list[str], missing: list[str]) -> list[str]:
    """Pending CSRs of our nodes: kubelet client CSRs from the node bootstrapper while a node is still missing,
    and kubelet serving CSRs from an expected node. Anything else waits for a human."""
    names = []
    for item in csrs.get("items", []):
        if item.get("status", {}).get("conditions"):
            continue  # already approved or denied
        spec = item.get("spec", {})
        user, signer = spec.get("username", ""), spec.get("signerName", "")
        client = signer == "kubernetes.io/kube-apiserver-client-kubelet" and user == CSR_CLIENT_REQUESTOR and missing
        serving = signer == "kubernetes.io/kubelet-serving" and any(
            user == f"system:node:{n}" or user.startswith(f"system:node:{n}.") for n in expected)
        if client or serving:
            names.append(item["metadata"]["name"])
    return sorted(names)


def step_approve_csrs() -> None:
    expected = sorted(n for n in _env("EAF_EXPECTED_NODES").split(",") if n)
    deadline = time.monotonic() + 60 * int(_env("EAF_TIMEOUT_MINUTES"))
    poll = float(os.environ.get("EAF_POLL_SECONDS", "20"))
    cli = _kube_cli()
    approved: list[str] = []
    while True:
        ready = _ready_nodes(_kube(cli, "get", "nodes", "-o", "json"))
        missing = [n for n in expected if not _matches(n, ready)]
        pending = approvable(_kube(cli, "get", "csr", "-o", "json"), expected, missing)
        if pending:
            _kube(cli, "certificate", "approve", *pending)
            approved += pending
            _progress(f"approved {len(pending)} CSR(s): {', '.join(pending)}")
        if not missing and not pending:
            print(json.dumps({"ready": expected, "approvedCsrs": len(approved)}, sort_keys=True))
            return
        if time.monotonic() > deadline:
            raise StepError(f"nodes not Ready after {_env('EAF_TIMEOUT_MINUTES')} min: {', '.join(missing)}; check "
                            "their consoles (virsh console) and `oc get csr` (raise eaf:okd.install.csrApprovalMinutes "
                            "if they are just slow)")
        _progress(f"waiting for {len(missing)} node(s) to be Ready: {', '.join(missing)}")
        time.sleep(poll)


STEPS = {
    "fetch-installer": step_fetch_installer,
    "create-manifests": step_create_manifests,
    "create-ignition-configs": step_create_ignition_configs,
    "read-ignition-configs": step_read_ignition_configs,
    "keep": step_keep,
    "wait-bootstrap-complete": step_wait_bootstrap_complete,
    "lb-remove-bootstrap": step_lb_remove_bootstrap,
    "approve-csrs": step_approve_csrs,
    "wait-install-complete": step_wait_install_complete,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in STEPS:
        print(f"usage: {argv[0]} {{{'|'.join(STEPS)}}}", file=sys.stderr)
        return 2
    try:
        STEPS[argv[1]]()
    except StepError as error:
        print(f"okd-step {argv[1]}: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

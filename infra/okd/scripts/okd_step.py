#!/usr/bin/env python3
"""The OKD install steps that the program's step resources (infra/okd/step_provider.py) run on the operator's machine.

Usage: python3 infra/okd/scripts/okd_step.py STEP   (from the project dir; parameters in EAF_* environment
variables, documents on stdin, results on stdout, progress on stderr as it happens). The standard library only,
except approve-csrs, which decodes the CSRs with cryptography (csr_review.py; the provider runs the steps with the
project's virtualenv). Every line of progress, the installer's own log included, goes out with the secret values
the step knows (kubeadmin password, pull secret, kubeconfig credentials) replaced by [secret].

Layout of the per-stack work dir (EAF_WORK_DIR):
  bin/openshift-install   the verified installer (a link into the cache, or to the pre-staged binary)
  assets/                 openshift-install's --dir: install-config, manifests, *.ign, auth/
"""

from __future__ import annotations

import base64
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
import urllib.error
import urllib.request
from pathlib import Path

IGNITION_FILES = ("bootstrap.ign", "master.ign", "worker.ign")
AUTH_FILES = ("auth/kubeconfig", "auth/kubeadmin-password")
METADATA_FILE = "metadata.json"  # written by `create ignition-configs`: clusterName, clusterID, infraID
SCHEDULER_MANIFEST = "manifests/cluster-scheduler-02-config.yml"
# UPI: the cluster does not manage these machines, so the Machine API objects the installer writes must go.
MACHINE_API_MANIFESTS = ("openshift/99_openshift-cluster-api_master-machines-*.yaml",
                         "openshift/99_openshift-cluster-api_worker-machineset-*.yaml",
                         "openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml")
MANIFEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$")
REDACTED = "[secret]"
# HTTP answers worth another try: the server or a proxy in between is busy or briefly broken.
RETRYABLE_HTTP = (408, 425, 429, 500, 502, 503, 504)
FIELD_MANAGER = "eaf-infra"  # server-side apply of the day-2 cluster settings


class StepError(Exception):
    """A failed step: the message says what went wrong and what to do; exit code 1 (or the installer's)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise StepError(f"{name} is not set (the program sets it on the step resource)")
    return value


# -- secrets: every line the step prints goes through redacted() -----------------------------------------------------

_SECRETS: set[str] = set()


def keep_secret(value: str | None) -> None:
    """Never print `value` (nor any of its lines, for a multi-line secret). Short pieces are ignored: replacing every
    "abc" would garble the log and hide nothing."""
    if not value:
        return
    for piece in (value, *value.splitlines()):
        if len(piece.strip()) >= 6:
            _SECRETS.add(piece.strip())


def keep_pull_secret(text: str) -> None:
    """The pull secret, each registry's `auth` and the password/token inside it (base64 of user:token)."""
    keep_secret(text)
    try:
        auths = json.loads(text).get("auths", {})
    except (ValueError, AttributeError):
        return
    for entry in auths.values() if isinstance(auths, dict) else ():
        auth = entry.get("auth", "") if isinstance(entry, dict) else ""
        keep_secret(auth)
        keep_secret(entry.get("password") if isinstance(entry, dict) else None)
        try:
            keep_secret(base64.b64decode(auth).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            pass


def _keep_kubeconfig_secrets(text: str) -> None:
    """A kubeconfig's credentials (tokens, client keys, passwords), found line by line: no YAML parser here."""
    for match in re.finditer(r"^\s*(token|client-key-data|password):\s*\"?([^\s\"]+)\"?\s*$", text, re.MULTILINE):
        keep_secret(match.group(2))


def keep_install_secrets(assets: Path) -> None:
    """The secrets the installer wrote into the assets dir, once they exist."""
    password = assets / "auth" / "kubeadmin-password"
    if password.is_file():
        keep_secret(password.read_text().strip())
    kubeconfig = assets / "auth" / "kubeconfig"
    if kubeconfig.is_file():
        _keep_kubeconfig_secrets(kubeconfig.read_text())


def redacted(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _progress(message: str) -> None:
    print(redacted(f"okd-step: {message}"), file=sys.stderr, flush=True)


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


def _retry_reason(error: Exception) -> str | None:
    """Why another attempt may succeed, or None when it cannot (a missing file, 403/404: final answers)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}" if error.code in RETRYABLE_HTTP else None
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        return None if isinstance(reason, (FileNotFoundError, PermissionError, IsADirectoryError)) else str(reason)
    return f"{type(error).__name__}: {error}"  # timeouts, resets, a connection cut in the middle of the body


def _download(url: str, target: Path) -> None:
    """Fetch `url` to `target`; transient failures are retried with exponential backoff (EAF_DOWNLOAD_ATTEMPTS,
    default 5; EAF_DOWNLOAD_BACKOFF_SECONDS, default 5: waits of 5, 10, 20, 40 s)."""
    attempts = int(os.environ.get("EAF_DOWNLOAD_ATTEMPTS", "5"))
    backoff = float(os.environ.get("EAF_DOWNLOAD_BACKOFF_SECONDS", "5"))
    for attempt in range(1, attempts + 1):
        _progress(f"downloading {url}" + (f" (attempt {attempt}/{attempts})" if attempt > 1 else ""))
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:  # noqa: S310
                shutil.copyfileobj(response, out, 1 << 20)
            return
        except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors; ValueError: a bad URL
            reason = _retry_reason(error) if not isinstance(error, ValueError) else None
            if reason is None or attempt == attempts:
                raise OSError(f"{error} (attempt {attempt} of {attempts})") from None
            delay = backoff * 2 ** (attempt - 1)
            _progress(f"download failed ({reason}); retrying in {delay:g} s")
            time.sleep(delay)


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


def _run_installer(*args: str) -> None:
    """Run the installer in the assets dir. Its log (stdout and stderr, in order) is passed on line by line as it
    is written, so a wait of 40 minutes shows its progress; secret values are replaced."""
    binary = installer_link()
    if not binary.exists():
        raise StepError(f"{binary} is missing: the fetch-installer step has not run for this work dir")
    _progress("openshift-install " + " ".join(args))
    keep_install_secrets(assets_dir())
    process = subprocess.Popen([str(binary), *args, "--dir", str(assets_dir())], stdin=subprocess.DEVNULL,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert process.stdout is not None
    for line in process.stdout:
        print(redacted(line.rstrip("\n")), file=sys.stderr, flush=True)
    code = process.wait()
    if code != 0:
        raise StepError(f"openshift-install {' '.join(args)} failed (exit {code}); its log is above and in "
                        f"{assets_dir() / '.openshift_install.log'}", code=code)


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
    return [_add_manifest(assets, path.name, path.read_text(), f"extra manifest {path}") for path in files]


def _add_manifest(assets: Path, name: str, text: str, what: str) -> str:
    if not MANIFEST_NAME.match(name):
        raise StepError(f"{what}: {name!r} is not a manifest file name (letters, digits, ._-, ending .yaml/.yml)")
    target = assets / "openshift" / name
    if target.exists():
        raise StepError(f"{what} would overwrite {target}: rename it")
    target.write_text(text)
    return f"openshift/{name}"


def _generated_manifests(assets: Path) -> list[str]:
    """The manifests the program generated from the plan (EAF_OPENSHIFT_MANIFESTS: a JSON map file name -> YAML),
    e.g. the nodes' chrony MachineConfigs."""
    text = os.environ.get("EAF_OPENSHIFT_MANIFESTS", "")
    if not text:
        return []
    try:
        manifests = json.loads(text)
    except json.JSONDecodeError as error:
        raise StepError(f"EAF_OPENSHIFT_MANIFESTS is not JSON: {error}") from None
    if not isinstance(manifests, dict) or not all(isinstance(v, str) for v in manifests.values()):
        raise StepError("EAF_OPENSHIFT_MANIFESTS must map file names to YAML texts")
    return [_add_manifest(assets, name, manifests[name], "generated manifest") for name in sorted(manifests)]


def _metadata(assets: Path) -> dict:
    try:
        found = json.loads((assets / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _refuse_installed_assets(assets: Path, domain: str) -> None:
    """`create manifests` starts from an empty assets dir. When that dir holds an installed cluster's state (its
    admin kubeconfig), emptying it would destroy the only copy of the cluster's certificates and credentials: a
    trigger of the install changed, or the work dir belongs to another cluster. Refused, saying what to do."""
    if not (assets / "auth" / "kubeconfig").is_file():
        return  # nothing installed from here yet (or a run that failed before its Ignition): start again
    cluster = domain.split(".", 1)[0]
    metadata = _metadata(assets)
    owner = metadata.get("clusterName")
    if owner != cluster:
        raise StepError(f"{assets} holds the installer state of {'cluster ' + owner if owner else 'another cluster'}"
                        f" ({METADATA_FILE}), not of {cluster}: this stack's eaf:okd.install.workDir points at "
                        "another cluster's work dir. Give the stack its own work dir (keep {stack} in it); never "
                        "delete the other cluster's.")
    raise StepError(
        f"{assets} holds the state of the installed cluster {cluster} (clusterID {metadata.get('clusterID', '?')}): "
        "a new install would delete its certificates and admin kubeconfig, the only copy. A change that needs a "
        "new install reached this step (the release, the cluster's name, domain, networks or controller count, "
        "the extra manifests). To keep the cluster, undo that change. To replace the cluster on purpose (its "
        f"workloads and data go): move the assets away, e.g. `mv {assets} {assets}.replaced-$(date +%Y%m%d)`, and "
        "run `pulumi up` again.")


def _keep_install_config_secrets(config: str) -> None:
    """The install-config's pull secret (the template writes it as a JSON string scalar)."""
    match = re.search(r"^pullSecret:\s*(.+?)\s*$", config, re.MULTILINE)
    if match is None:
        return
    try:
        value = json.loads(match.group(1))
    except ValueError:
        value = match.group(1).strip("'")
    if isinstance(value, str):
        keep_pull_secret(value)


def step_create_manifests() -> None:
    config = sys.stdin.read()
    if not config.strip():
        raise StepError("no install-config on stdin (the program passes it as the step's stdin)")
    _keep_install_config_secrets(config)
    assets = assets_dir()
    _refuse_installed_assets(assets, _env("EAF_CLUSTER_DOMAIN"))
    # A fresh install starts from nothing: the installer would otherwise reuse the previous run's state (certs).
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True, mode=0o700)
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
    added = _generated_manifests(assets)
    extra = os.environ.get("EAF_EXTRA_MANIFESTS", "")
    added += _add_extra_manifests(assets, extra) if extra else []
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


def _kubeconfig() -> Path:
    kubeconfig = assets_dir() / "auth" / "kubeconfig"
    keep_install_secrets(assets_dir())
    return kubeconfig


def _kube(cli: str, *args: str, stdin: str | None = None) -> dict:
    result = subprocess.run([cli, "--kubeconfig", str(_kubeconfig()), *args], input=stdin,  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise StepError(redacted(f"{Path(cli).name} {' '.join(args)} failed: {result.stderr.strip()}"))
    return json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def _node_names(nodes: dict) -> tuple[set[str], set[str]]:
    """(every registered Node's name, the names of those that are Ready)."""
    registered, ready = set(), set()
    for item in nodes.get("items", []):
        name = item["metadata"]["name"]
        registered.add(name)
        conditions = item.get("status", {}).get("conditions", [])
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready.add(name)
    return registered, ready


def _csr_review():
    """csr_review.py beside this script (cryptography is needed only here)."""
    if __package__:  # imported as infra.okd.scripts.okd_step
        from infra.okd.scripts import csr_review
    else:  # run as a file: its directory is sys.path[0]
        import csr_review
    return csr_review


def step_approve_csrs() -> None:
    """Approve the kubelet CSRs of the planned nodes (csr_review.py decides from the decoded request) until every
    planned node is Ready; report each CSR left pending once, with the reason."""
    review = _csr_review()
    nodes = review.planned_nodes(json.loads(_env("EAF_PLANNED_NODES")))
    deadline = time.monotonic() + 60 * int(_env("EAF_TIMEOUT_MINUTES"))
    poll = float(os.environ.get("EAF_POLL_SECONDS", "20"))
    cli = _kube_cli()
    approved: list[str] = []
    reported: dict[str, str] = {}
    while True:
        registered, ready = _node_names(_kube(cli, "get", "nodes", "-o", "json"))
        missing = [n.name for n in nodes if not n.names & ready]
        decisions = review.review_all(_kube(cli, "get", "csr", "-o", "json"), nodes, registered)
        pending = [d.csr for d in decisions if d.approve]
        for decision in decisions:
            if decision.approve:
                _progress(f"approving {decision.csr}: {decision.reason}")
            elif reported.get(decision.csr) != decision.reason:
                _progress(f"not approving {decision.csr}: {decision.reason}; it waits for a human "
                          f"(`oc adm certificate approve|deny {decision.csr}`)")
                reported[decision.csr] = decision.reason
        if pending:
            # oc has it under `adm`; kubectl at the top level.
            _kube(cli, *(["adm"] if Path(cli).name == "oc" else []), "certificate", "approve", *pending)
            approved += pending
        if not missing and not pending:
            left = sorted(reported)
            print(json.dumps({"ready": [n.name for n in nodes], "approvedCsrs": approved, "notApproved": left},
                             sort_keys=True))
            return
        if time.monotonic() > deadline:
            raise StepError(f"nodes not Ready after {_env('EAF_TIMEOUT_MINUTES')} min: {', '.join(missing)}; check "
                            "their consoles (virsh console) and `oc get csr` (raise eaf:okd.install.csrApprovalMinutes "
                            "if they are just slow)")
        _progress(f"waiting for {len(missing)} node(s) to be Ready: {', '.join(missing)}")
        time.sleep(poll)


def step_apply_cluster_settings() -> None:
    """The cluster-wide settings the stack owns (infra/okd/cluster_settings.py), on the running cluster. stdin:
    {"apply": [objects], "patch": [{"resource", "name", "patch"}], "delete": [{"resource", "name"}]}: objects are
    server-side applied as field manager eaf-infra, merge patches set (and with nulls remove) single fields,
    objects the stack no longer wants are deleted. Runs again on every change of its input; a change here never
    re-runs the install."""
    document = json.loads(sys.stdin.read() or "{}")
    objects, patches, deletions = document.get("apply", []), document.get("patch", []), document.get("delete", [])
    for item in objects:
        for value in (item.get("data") or {}).values() if item.get("kind") == "Secret" else ():
            keep_secret(value)
            keep_pull_secret(base64.b64decode(value).decode())
    cli = _kube_cli()
    done: dict[str, list[str]] = {"applied": [], "patched": [], "deleted": []}
    if objects:
        # On stdin: the pull secret never shows in a process list.
        _kube(cli, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts", "-f", "-",
              stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
        done["applied"] = [f"{o['kind']}/{o['metadata']['name']}" for o in objects]
    for item in patches:
        _kube(cli, "patch", item["resource"], item["name"], "--type", "merge", "-p", json.dumps(item["patch"]))
        done["patched"].append(f"{item['resource']}/{item['name']}")
    for ref in deletions:
        _kube(cli, "delete", ref["resource"], ref["name"], "--ignore-not-found", "--wait=false")
        done["deleted"].append(f"{ref['resource']}/{ref['name']}")
    for verb, names in done.items():
        if names:
            _progress(f"{verb} {', '.join(names)}")
    print(json.dumps(done, sort_keys=True))


STEPS = {
    "fetch-installer": step_fetch_installer,
    "create-manifests": step_create_manifests,
    "create-ignition-configs": step_create_ignition_configs,
    "read-ignition-configs": step_read_ignition_configs,
    "keep": step_keep,
    "wait-bootstrap-complete": step_wait_bootstrap_complete,
    "lb-remove-bootstrap": step_lb_remove_bootstrap,
    "approve-csrs": step_approve_csrs,
    "apply-cluster-settings": step_apply_cluster_settings,
    "wait-install-complete": step_wait_install_complete,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in STEPS:
        print(f"usage: {argv[0]} {{{'|'.join(STEPS)}}}", file=sys.stderr)
        return 2
    try:
        STEPS[argv[1]]()
    except StepError as error:
        print(redacted(f"okd-step {argv[1]}: {error}"), file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env bash
# Everything a fresh Debian machine needs; each step is cached, so a second run takes seconds.
#   Debian packages, virtualenv, Pulumi engine (Go), the Kubernetes tools (Go: etcd, the control plane, kubelet,
#   kube-proxy, CoreDNS, local-path-provisioner), the upstream CRDs (Go module proxy + controller-gen), grype + syft
#   (Go), the Kubernetes provider plugin (Go), libvirtd, the local probe image, the image-scan test's base rootfs.
# The Kubernetes tools' build (~25 CPU-minutes cold), the Kubernetes provider plugin's (~25 CPU-minutes cold, 4.5 GB
# peak RSS; ~95 s with a warm Go cache) and the scanners' build run in the background from the start and overlap
# the rest; the CRD build (it runs on Debian's python3-yaml) and the scan test's base
# rootfs start in the background once the Debian packages are in. `--local`: only what `pulumi up -s local` needs
# (no Kubernetes tools, no CRDs, no scanners).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
only_local=false
[ "${1:-}" = "--local" ] && only_local=true
start=$(date +%s)
step() { echo; echo "### $1"; }

# The Go toolchain comes with the machine image (Debian's golang-go is too old for the pinned modules).
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { echo "setup: no Go toolchain (>= 1.26) on PATH or in /usr/local/go" >&2; exit 1; }

logs="$root/.work/logs"
mkdir -p "$logs"
# in_background NAME SCRIPT LOG: start a build, remembering its PID under NAME.
declare -A bg_pid=() bg_log=()
in_background() {
  echo "### $1: building in the background (log: ${3#"$root"/})"
  bash "$2" > "$3" 2>&1 &
  bg_pid[$1]=$!
  bg_log[$1]="$3"
}
# wait_for_background NAME: fail with the log's tail when that build failed.
wait_for_background() {
  local name="$1"
  step "$name"
  if ! wait "${bg_pid[$name]}"; then
    tail -n 40 "${bg_log[$name]}" >&2
    echo "setup: building $name failed (full log: ${bg_log[$name]})" >&2
    exit 1
  fi
}

if ! $only_local; then
  in_background "Kubernetes tools" scripts/build-k8s-tools.sh "$logs/build-k8s-tools.log"
  in_background "grype + syft" scripts/build-scan-tools.sh "$logs/build-scan-tools.log"
  in_background "Kubernetes provider plugin" scripts/build-kubernetes-plugin.sh "$logs/build-kubernetes-plugin.log"
fi
step "Debian packages";             bash scripts/install-system-packages.sh
if ! $only_local; then
  in_background "upstream CRDs" scripts/build-crds.sh "$logs/build-crds.log"
  # Downloaded from Debian's archive (network-bound).
  in_background "image-scan test base rootfs" scripts/build-scan-test-base.sh "$logs/build-scan-test-base.log"
fi
step "Python virtualenv";           bash scripts/setup-venv.sh
step "Pulumi engine";               bash scripts/bootstrap-engine.sh
step "libvirtd";                    bash scripts/start-libvirtd.sh
step "local probe OS image";        bash scripts/build-probe-image.sh

if ! $only_local; then
  wait_for_background "Kubernetes tools"
  grep -E "^\[build-k8s-tools\] (done|  |.*: built)" "${bg_log[Kubernetes tools]}" || tail -n 5 "${bg_log[Kubernetes tools]}"
  wait_for_background "upstream CRDs"
  # A module the Go proxy refused is not a set-up failure: the CRD tier fails its kinds by name.
  grep -E "^\[build-crds\] (CRDs|controller-gen|[0-9]+ CRDs|.*REFUSED)" "${bg_log[upstream CRDs]}" | tail -n 12 \
    || tail -n 5 "${bg_log[upstream CRDs]}"
  wait_for_background "image-scan test base rootfs"
  tail -n 1 "${bg_log[image-scan test base rootfs]}"
  wait_for_background "grype + syft"
  grep -E "^\[build-scan-tools\] " "${bg_log[grype + syft]}" | tail -n 6
  wait_for_background "Kubernetes provider plugin"
  grep -E "^\[build-kubernetes-plugin\] (generated|built|pulumi-resource-kubernetes)" \
    "${bg_log[Kubernetes provider plugin]}" | tail -n 4
  # Into the project's Pulumi home ($PULUMI_HOME as scripts/env.sh sets it), under the version the
  # pulumi-kubernetes SDK asks for.
  bash scripts/install-kubernetes-plugin.sh
fi
echo; echo "### set-up complete in $(( $(date +%s) - start )) s"

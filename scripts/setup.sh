#!/usr/bin/env bash
# Everything a fresh Debian machine needs; each step is cached, so a second run takes seconds.
#   Debian packages, virtualenv, Pulumi engine (Go), the Kubernetes tools (Go: etcd, the control plane, kubelet,
#   kube-proxy, CoreDNS, local-path-provisioner), the upstream CRDs (Go module proxy + controller-gen), libvirtd,
#   the local probe image.
# The Kubernetes tools' build (the longest step, ~25 CPU-minutes cold) runs in the background from the start and
# overlaps the rest; the CRD build (it runs on Debian's python3-yaml) starts in the background once the Debian
# packages are in. `--local`: only what `pulumi up -s local` needs (no Kubernetes tools, no CRDs).
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

k8s_pid=""
k8s_log="$root/.work/logs/build-k8s-tools.log"
if ! $only_local; then
  mkdir -p "$(dirname "$k8s_log")"
  echo "### Kubernetes tools: building in the background (log: ${k8s_log#"$root"/})"
  bash scripts/build-k8s-tools.sh > "$k8s_log" 2>&1 &
  k8s_pid=$!
fi

step "Debian packages";             bash scripts/install-system-packages.sh

crds_pid=""
crds_log="$root/.work/logs/build-crds.log"
if ! $only_local; then
  echo "### upstream CRDs: building in the background (log: ${crds_log#"$root"/})"
  bash scripts/build-crds.sh > "$crds_log" 2>&1 &
  crds_pid=$!
fi
step "Python virtualenv";           bash scripts/setup-venv.sh
step "Pulumi engine";               bash scripts/bootstrap-engine.sh
step "libvirtd";                    bash scripts/start-libvirtd.sh
step "local probe OS image";        bash scripts/build-probe-image.sh

if [ -n "$k8s_pid" ]; then
  step "Kubernetes tools"
  if ! wait "$k8s_pid"; then
    tail -n 40 "$k8s_log" >&2
    echo "setup: building the Kubernetes tools failed (full log: $k8s_log)" >&2
    exit 1
  fi
  grep -E "^\[build-k8s-tools\] (done|  |.*: built)" "$k8s_log" || tail -n 5 "$k8s_log"
fi
if [ -n "$crds_pid" ]; then
  step "upstream CRDs"
  if ! wait "$crds_pid"; then
    tail -n 40 "$crds_log" >&2
    echo "setup: building the upstream CRDs failed (full log: $crds_log)" >&2
    exit 1
  fi
  # A module the Go proxy refused is not a set-up failure: the CRD tier fails its kinds by name.
  grep -E "^\[build-crds\] (CRDs|controller-gen|[0-9]+ CRDs|.*REFUSED)" "$crds_log" | tail -n 12 || tail -n 5 "$crds_log"
fi
echo; echo "### set-up complete in $(( $(date +%s) - start )) s"

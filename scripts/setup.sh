#!/usr/bin/env bash
# Everything a fresh Debian machine needs; each step is cached, so a second run takes seconds.
#   Debian packages, virtualenv, Pulumi engine (Go), etcd + kube-apiserver (Go), grype + syft (Go), libvirtd, the
#   local probe image, the image-scan test's base rootfs.
# The Kubernetes tools' build (the longest step, ~9 min cold on 2 cores) and the scanners' build run in the
# background from the start and overlap the rest. `--local`: only what `pulumi up -s local` needs (no Kubernetes
# tools, no scanners).
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
scan_pid=""
scan_log="$root/.work/logs/build-scan-tools.log"
if ! $only_local; then
  mkdir -p "$(dirname "$k8s_log")"
  echo "### etcd + kube-apiserver: building in the background (log: ${k8s_log#"$root"/})"
  bash scripts/build-k8s-tools.sh > "$k8s_log" 2>&1 &
  k8s_pid=$!
  echo "### grype + syft: building in the background (log: ${scan_log#"$root"/})"
  bash scripts/build-scan-tools.sh > "$scan_log" 2>&1 &
  scan_pid=$!
fi

# wait_for_background NAME PID LOG: fail with the log's tail when that build failed.
wait_for_background() {
  local name="$1" pid="$2" log="$3"
  step "$name"
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    echo "setup: building $name failed (full log: $log)" >&2
    exit 1
  fi
}

step "Debian packages";             bash scripts/install-system-packages.sh
# The scan test's base rootfs is downloaded from Debian's archive (network-bound): also in the background.
base_pid=""
base_log="$root/.work/logs/build-scan-test-base.log"
if ! $only_local; then
  echo "### image-scan test base rootfs: building in the background (log: ${base_log#"$root"/})"
  bash scripts/build-scan-test-base.sh > "$base_log" 2>&1 &
  base_pid=$!
fi
step "Python virtualenv";           bash scripts/setup-venv.sh
step "Pulumi engine";               bash scripts/bootstrap-engine.sh
step "libvirtd";                    bash scripts/start-libvirtd.sh
step "local probe OS image";        bash scripts/build-probe-image.sh

if [ -n "$k8s_pid" ]; then
  wait_for_background "etcd + kube-apiserver" "$k8s_pid" "$k8s_log"
  grep -E "^\[build-k8s-tools\] (built|cached|up to date|versions|etcd|kube|kubectl)" "$k8s_log" | tail -n 8 || tail -n 5 "$k8s_log"
fi
if [ -n "$base_pid" ]; then
  wait_for_background "image-scan test base rootfs" "$base_pid" "$base_log"
  tail -n 1 "$base_log"
fi
if [ -n "$scan_pid" ]; then
  wait_for_background "grype + syft" "$scan_pid" "$scan_log"
  grep -E "^\[build-scan-tools\] " "$scan_log" | tail -n 6
fi
echo; echo "### set-up complete in $(( $(date +%s) - start )) s"

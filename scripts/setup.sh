#!/usr/bin/env bash
# Everything a fresh Debian machine needs, in order; each step is cached, so a second run takes seconds.
#   system packages -> virtualenv -> Pulumi engine (Go) -> etcd/kube-apiserver (Go) -> libvirtd -> probe image
# `--local`: only what `pulumi up -s local` needs (no kube-apiserver build; that is for the test tier).
set -euo pipefail
only_local=false
[ "${1:-}" = "--local" ] && only_local=true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)
step() { echo; echo "### $1"; }

step "1/6 Debian packages";            bash scripts/install-system-packages.sh
step "2/6 Python virtualenv";          bash scripts/setup-venv.sh
step "3/6 Pulumi engine";              bash scripts/bootstrap-engine.sh
if $only_local; then
  step "4/6 etcd + kube-apiserver: not needed for the local stack (scripts/build-k8s-tools.sh builds them)"
else
  step "4/6 etcd + kube-apiserver";    bash scripts/build-k8s-tools.sh
fi
step "5/6 libvirtd";                   bash scripts/start-libvirtd.sh
step "6/6 local probe OS image";       bash scripts/build-probe-image.sh
echo; echo "### set-up complete in $(( $(date +%s) - start )) s"

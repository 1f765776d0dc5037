#!/usr/bin/env bash
# Destroy the `local` stack's VMs, volumes, network and pool (the stack's state stays, empty, under .work/state).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh
# shellcheck source=scripts/env-local.sh
source scripts/env-local.sh
bash scripts/start-libvirtd.sh >/dev/null
pulumi destroy --yes --stack local "$@"

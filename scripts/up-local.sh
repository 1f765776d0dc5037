#!/usr/bin/env bash
# The main job on this machine: set everything up (idempotent), then a real `pulumi up` of the `local` stack on
# this machine's libvirtd, then a table per VM: state, leased vs planned IP, DNS answers, Ignition seen vs generated.
# Extra arguments go to `pulumi up` (e.g. --diff). Tear down with: scripts/down-local.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --local
# shellcheck source=scripts/env.sh
source scripts/env.sh
# shellcheck source=scripts/env-local.sh
source scripts/env-local.sh

echo; echo "### pulumi up -s local"
pulumi stack select --create --stack local >/dev/null
pulumi up --yes --stack local "$@"

echo; echo "### what the VMs report"
exec python -m infra local-report --stack local

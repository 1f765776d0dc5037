#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run calls): set-up, lint, then every test tier,
# the real ones included (libvirtd + TCG VMs, ignition-validate, virt-xml-validate, the Pulumi engine, a real
# kube-apiserver). `--unit` runs lint + the fast tests only, on two workers: Debian packages and the virtualenv, no Go builds,
# no daemons (the mocks, the validators, libvirt's in-process test driver).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "${1:-}" = "--unit" ]; then
  shift
  bash scripts/install-system-packages.sh
  bash scripts/setup-venv.sh
  .venv/bin/ruff check .
  # Two workers (pytest-xdist): the machine's two cores; `-n 0` (or any later -n) in "$@" overrides it.
  exec .venv/bin/python -m pytest -m "not real" -q -n 2 "$@"
fi

bash scripts/setup.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
echo; echo "### lint"; ruff check .
echo; echo "### tests (all tiers)"
exec python -m pytest -q --durations=15 "$@"

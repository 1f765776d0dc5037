#!/usr/bin/env bash
# The project's virtualenv (.venv), from Debian's python3 (it has the headers libvirt-python compiles against),
# with every Python dependency pinned in requirements.lock. Re-runs only when the lock file changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/requirements.lock" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "==> venv: up to date ($("$venv/bin/python" --version), $(wc -l < "$root/requirements.lock") pinned packages)"
  exit 0
fi
echo "==> venv: installing requirements.lock into $venv"
start=$(date +%s)
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$root/requirements.lock"
echo "$want" > "$stamp"
echo "==> venv: done in $(( $(date +%s) - start )) s"

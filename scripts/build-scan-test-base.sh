#!/usr/bin/env bash
# The base image rootfs of the image-scan test (tests/images/test_image_scan_real.py): Debian 12's essential
# packages, made with mmdebstrap from Debian's archive, as a tarball the test turns into a local base image with
# buildah. No container registry is reachable here, so the test's "base image" is built from Debian packages the
# way Debian's own images are. Cached: rebuilt only when the suite, variant or options below change.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${repo_root}/.tools/scan-test"
out="${out_dir}/debian-bookworm-essential.tar"
stamp="${repo_root}/.tools/stamps/scan-test-base.stamp"
suite=bookworm
mirror=http://deb.debian.org/debian
# Documentation and translations are no part of what the scan looks at; leaving them out halves the tarball.
options=(--variant=essential --format=tar --quiet
         "--dpkgopt=path-exclude=/usr/share/man/*" "--dpkgopt=path-exclude=/usr/share/locale/*"
         "--dpkgopt=path-exclude=/usr/share/doc/*")

log() { printf '[build-scan-test-base] %s\n' "$*"; }
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: run scripts/install-system-packages.sh" >&2; exit 1; }

key="$(printf '%s %s %s %s' "${suite}" "${mirror}" "${options[*]}" "$(mmdebstrap --version)" | sha256sum | cut -d' ' -f1)"
if [[ -f "${out}" && -s "${out}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
  log "up to date (${out#"${repo_root}"/})"
  exit 0
fi
mkdir -p "${out_dir}" "$(dirname "${stamp}")"
start=${SECONDS}
mmdebstrap "${options[@]}" "${suite}" "${out}.tmp" "${mirror}"
mv -f "${out}.tmp" "${out}"
printf '%s' "${key}" > "${stamp}"
log "built in $((SECONDS - start))s: ${out#"${repo_root}"/} ($(du -h "${out}" | cut -f1))"

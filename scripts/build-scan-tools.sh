#!/usr/bin/env bash
# Builds the image scanners from Go modules into .tools/bin: grype (vulnerability scan), syft (SBOM) and
# eaf-grype-fixture-db (a small Grype DB for the tests, written with grype's own DB build code). Versions are
# pinned in scripts/go/versions.env and the wrapper module scripts/go/grype. A stamp per binary records what it was
# built from, so a second run is instant.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="${repo_root}/scripts/go/grype"
bin_dir="${repo_root}/.tools/bin"
stamp_dir="${repo_root}/.tools/stamps"
script_name=build-scan-tools
# shellcheck source=scripts/go/common.sh
source "${repo_root}/scripts/go/common.sh"

command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin/go)"
grype_version="$(read_pin GRYPE_VERSION)"
syft_version="$(read_pin SYFT_VERSION)"
check_pin_in_gomod "${module_dir}/go.mod" github.com/anchore/grype "${grype_version}"
check_pin_in_gomod "${module_dir}/go.mod" github.com/anchore/syft "${syft_version}"

mkdir -p "${bin_dir}" "${stamp_dir}"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0  # grype's SQLite driver is pure Go
go_version="$(go env GOVERSION)"

# build NAME VERSION PACKAGE [LDFLAGS]
build() {
  local name="$1" version="$2" package="$3" ldflags="${4:-}"
  local out="${bin_dir}/${name}" stamp="${stamp_dir}/${name}.stamp" key start
  key="$(printf '%s %s %s %s\n' "${name}" "${version}" "${go_version}" \
    "$({ cat "${module_dir}/go.mod" "${module_dir}/go.sum"; find "${module_dir}/cmd" -type f -name '*.go' -print0 \
        | sort -z | xargs -0 cat; printf '%s' "${ldflags}"; } | sha256sum | cut -d' ' -f1)")"
  if [[ -x "${out}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
    log "${name} ${version}: up to date (${out})"
    return 0
  fi
  log "${name} ${version}: building ${package}"
  start=${SECONDS}
  (cd "${module_dir}" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "${package}")
  mv -f "${out}.tmp" "${out}"
  printf '%s' "${key}" > "${stamp}"
  log "${name} ${version}: built in $((SECONDS - start))s"
}

total_start=${SECONDS}
build grype "${grype_version}" github.com/anchore/grype/cmd/grype "-X main.version=${grype_version#v}"
build syft "${syft_version}" github.com/anchore/syft/cmd/syft "-X main.version=${syft_version#v}"
build eaf-grype-fixture-db "${grype_version}" ./cmd/eaf-grype-fixture-db
log "done in $((SECONDS - total_start))s; versions:"
log "  grype: $("${bin_dir}/grype" version | awk '/^Version:/ {print $2}')"
log "  syft:  $("${bin_dir}/syft" version | awk '/^Version:/ {print $2}')"

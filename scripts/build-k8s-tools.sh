#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kubectl from Go modules into .tools/bin for the
# real-API-server test tier (tests/support/apiserver.py). Versions are pinned in
# scripts/go/versions.env and in the wrapper modules scripts/go/{etcd,kubernetes}.
# A stamp per binary records what it was built from, so a second run is instant.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
go_dir="${repo_root}/scripts/go"
bin_dir="${repo_root}/.tools/bin"
stamp_dir="${repo_root}/.tools/stamps"
versions_file="${go_dir}/versions.env"

log() { printf '[build-k8s-tools] %s\n' "$*"; }
die() { printf '[build-k8s-tools] ERROR: %s\n' "$*" >&2; exit 1; }

# versions.env is shared with other build scripts, so read only our keys
# instead of sourcing the whole file.
read_pin() {
  local key="$1" value
  value="$(awk -F= -v k="${key}" '$1 == k { v = $2 } END { print v }' "${versions_file}")"
  [[ -n "${value}" ]] || die "${key} is not set in ${versions_file}"
  printf '%s' "${value}"
}

# The wrapper go.mod is what Go actually builds; refuse to build if it drifted
# from the pin so versions.env never lies.
check_pin_in_gomod() {
  local gomod="$1" module="$2" version="$3"
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?${module//./\\.}[[:space:]]+${version//./\\.}([[:space:]]|$)" "${gomod}" \
    || die "${gomod} does not require ${module} ${version} (pinned in ${versions_file})"
}

command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin/go)"
[[ -f "${versions_file}" ]] || die "missing ${versions_file}"

etcd_version="$(read_pin ETCD_VERSION)"
k8s_version="$(read_pin KUBERNETES_VERSION)"
staging_version="$(read_pin KUBERNETES_STAGING_VERSION)"
check_pin_in_gomod "${go_dir}/etcd/go.mod" go.etcd.io/etcd/server/v3 "${etcd_version}"
check_pin_in_gomod "${go_dir}/kubernetes/go.mod" k8s.io/kubernetes "${k8s_version}"
# Every staging module must be replaced by the same release tag.
first_stray="$(grep -E '=>[[:space:]]+k8s\.io/' "${go_dir}/kubernetes/go.mod" | grep -Ev "[[:space:]]${staging_version//./\\.}$" | head -n 1 || true)"
[[ -z "${first_stray}" ]] \
  || die "${go_dir}/kubernetes/go.mod replaces staging modules with something other than ${staging_version}, e.g. ${first_stray}"

mkdir -p "${bin_dir}" "${stamp_dir}"

# Never let go fetch a different toolchain or rewrite the committed go.mod/go.sum.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
# Static binaries: nothing on this host has to match their libc.
export CGO_ENABLED=0

go_version="$(go env GOVERSION)"

# Identity of a build: name, pinned version, Go version, wrapper module content and link flags.
build_key() {
  local name="$1" version="$2" module_dir="$3" ldflags="$4"
  printf '%s %s %s %s\n' "${name}" "${version}" "${go_version}" \
    "$({ cat "${module_dir}/go.mod" "${module_dir}/go.sum"; printf '%s' "${ldflags}"; } | sha256sum | cut -d' ' -f1)"
}

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name="$1" version="$2" module_dir="$3" package="$4" ldflags="${5:-}"
  local out="${bin_dir}/${name}" stamp="${stamp_dir}/${name}.stamp" key start elapsed
  key="$(build_key "${name}" "${version}" "${module_dir}" "${ldflags}")"
  if [[ -x "${out}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
    log "${name} ${version}: up to date (${out})"
    return 0
  fi
  log "${name} ${version}: building ${package} (cold builds take minutes on 2 cores)"
  start=${SECONDS}
  (cd "${module_dir}" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "${package}")
  mv -f "${out}.tmp" "${out}"
  printf '%s' "${key}" > "${stamp}"
  elapsed=$((SECONDS - start))
  log "${name} ${version}: built in ${elapsed}s"
}

total_start=${SECONDS}

build etcd "${etcd_version}" "${go_dir}/etcd" go.etcd.io/etcd/server/v3

# Same variables the upstream release build stamps (hack/lib/version.sh), so
# `kubectl version` and the server's /version report the real release.
k8s_major="${k8s_version#v}"; k8s_major="${k8s_major%%.*}"
k8s_minor="${k8s_version#v*.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X ${pkg}.gitVersion=${k8s_version}"
  k8s_ldflags+=" -X ${pkg}.gitMajor=${k8s_major}"
  k8s_ldflags+=" -X ${pkg}.gitMinor=${k8s_minor}"
  k8s_ldflags+=" -X ${pkg}.gitTreeState=clean"
done

build kube-apiserver "${k8s_version}" "${go_dir}/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "${k8s_ldflags}"
build kubectl "${k8s_version}" "${go_dir}/kubernetes" k8s.io/kubernetes/cmd/kubectl "${k8s_ldflags}"

log "done in $((SECONDS - total_start))s; versions:"
log "  etcd:           $("${bin_dir}/etcd" --version | awk '/^etcd Version/ {print $3}')"
log "  kube-apiserver: $("${bin_dir}/kube-apiserver" --version)"
log "  kubectl:        $("${bin_dir}/kubectl" version --client | awk '/^Client Version/ {print $3}')"
log "  go:             ${go_version}"

#!/usr/bin/env bash
# Builds the Kubernetes tools of the real tiers into .tools/bin:
#   - etcd, kube-apiserver, kubectl: the real-API-server tier (tests/support/apiserver.py);
#   - kube-controller-manager, kube-scheduler, kubelet, kube-proxy (same k8s.io/kubernetes module), CoreDNS,
#     local-path-provisioner and the sandbox image's pause binary: the one-node cluster
#     (tests/support/kube_node.py), plus upstream's local-path-provisioner manifest into .tools/share.
# Versions are pinned in scripts/go/versions.env and in the wrapper modules scripts/go/<name>/.
# A stamp per artifact records what it was built from, so a second run is instant.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
stamp_dir="${repo_root}/.tools/stamps"
script_name=build-k8s-tools
# shellcheck source=scripts/go/common.sh
source "${repo_root}/scripts/go/common.sh"

command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin/go)"
[[ -f "${versions_file}" ]] || die "missing ${versions_file}"

etcd_version="$(read_pin ETCD_VERSION)"
k8s_version="$(read_pin KUBERNETES_VERSION)"
staging_version="$(read_pin KUBERNETES_STAGING_VERSION)"
coredns_version="$(read_pin COREDNS_VERSION)"
lpp_version="$(read_pin LOCAL_PATH_PROVISIONER_VERSION)"
check_pin_in_gomod "${go_dir}/etcd/go.mod" go.etcd.io/etcd/server/v3 "${etcd_version}"
check_pin_in_gomod "${go_dir}/kubernetes/go.mod" k8s.io/kubernetes "${k8s_version}"
check_pin_in_gomod "${go_dir}/coredns/go.mod" github.com/coredns/coredns "${coredns_version}"
check_pin_in_gomod "${go_dir}/local-path-provisioner/go.mod" github.com/rancher/local-path-provisioner "${lpp_version}"
# Every staging module must be replaced by the same release tag.
first_stray="$(grep -E '=>[[:space:]]+k8s\.io/' "${go_dir}/kubernetes/go.mod" | grep -Ev "[[:space:]]${staging_version//./\\.}$" | head -n 1 || true)"
[[ -z "${first_stray}" ]] \
  || die "${go_dir}/kubernetes/go.mod replaces staging modules with something other than ${staging_version}, e.g. ${first_stray}"

share_dir="${repo_root}/.tools/share"
mkdir -p "${bin_dir}" "${stamp_dir}" "${share_dir}"

# Never let go fetch a different toolchain or rewrite the committed go.mod/go.sum.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
# Static binaries: nothing on this host has to match their libc.
export CGO_ENABLED=0

go_version="$(go env GOVERSION)"

# Identity of a build: name, pinned version, Go version, wrapper module content (go.mod, go.sum, any main
# package of our own) and link flags.
build_key() {
  local name="$1" version="$2" module_dir="$3" ldflags="$4"
  printf '%s %s %s %s\n' "${name}" "${version}" "${go_version}" \
    "$({ cat "${module_dir}/go.mod" "${module_dir}/go.sum"
         find "${module_dir}" -maxdepth 1 -name '*.go' -print0 | sort -z | xargs -0 -r cat
         printf '%s' "${ldflags}"; } | sha256sum | cut -d' ' -f1)"
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
# The one-node cluster (tests/support/kube_node.py): the rest of the control plane and the node agents.
for component in kube-controller-manager kube-scheduler kubelet kube-proxy; do
  build "${component}" "${k8s_version}" "${go_dir}/kubernetes" "k8s.io/kubernetes/cmd/${component}" "${k8s_ldflags}"
done

build coredns "${coredns_version}" "${go_dir}/coredns" eaf-infra/tools/coredns
build local-path-provisioner "${lpp_version}" "${go_dir}/local-path-provisioner" github.com/rancher/local-path-provisioner \
  "-X main.VERSION=${lpp_version}"

# Where Go unpacked a pinned module (read-only); the wrapper module's go.sum has verified it.
module_dir() {
  local wrapper="$1" module="$2"
  (cd "${wrapper}" && go list -m -f '{{.Dir}}' "${module}")
}

# The sandbox ("pause") image's binary: upstream's build/pause/linux/pause.c of the pinned Kubernetes module,
# compiled static with the flags of its Makefile. Its version (the Makefile's TAG) names the image.
k8s_src="$(module_dir "${go_dir}/kubernetes" k8s.io/kubernetes)"
pause_tag="$(awk -F'[ ?=]+' '$1 == "TAG" { print $2 }' "${k8s_src}/build/pause/Makefile")"
[[ -n "${pause_tag}" ]] || die "no TAG in ${k8s_src}/build/pause/Makefile"
command -v gcc >/dev/null || die "gcc is not installed (scripts/install-system-packages.sh)"
pause_cflags="-Os -Wall -Werror -static -DVERSION=v${pause_tag}-${k8s_version}"
pause_key="pause ${pause_tag} $(gcc -dumpfullversion) $({ cat "${k8s_src}/build/pause/linux/pause.c"; printf '%s' "${pause_cflags}"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "${bin_dir}/pause" && "$(cat "${stamp_dir}/pause.stamp" 2>/dev/null)" == "${pause_key}" ]]; then
  log "pause ${pause_tag}: up to date (${bin_dir}/pause)"
else
  # shellcheck disable=SC2086 # the flags are words
  gcc ${pause_cflags} -o "${bin_dir}/pause.tmp" "${k8s_src}/build/pause/linux/pause.c"
  mv -f "${bin_dir}/pause.tmp" "${bin_dir}/pause"
  printf '%s' "${pause_key}" > "${stamp_dir}/pause.stamp"
  log "pause ${pause_tag}: built"
fi

# Upstream's manifest for local-path-provisioner, taken from the pinned module; the cluster fixture applies it
# with this cluster's image names and volume directory.
lpp_src="$(module_dir "${go_dir}/local-path-provisioner" github.com/rancher/local-path-provisioner)"
install -D -m 0644 "${lpp_src}/deploy/local-path-storage.yaml" "${share_dir}/local-path-provisioner/local-path-storage.yaml"

log "done in $((SECONDS - total_start))s; versions:"
log "  etcd:           $("${bin_dir}/etcd" --version | awk '/^etcd Version/ {print $3}')"
log "  kube-apiserver: $("${bin_dir}/kube-apiserver" --version)"
log "  kubectl:        $("${bin_dir}/kubectl" version --client | awk '/^Client Version/ {print $3}')"
log "  kubelet:        $("${bin_dir}/kubelet" --version)"
log "  coredns:        $("${bin_dir}/coredns" -version | awk '/^CoreDNS-/ {print $1}')"
log "  local-path-provisioner: $("${bin_dir}/local-path-provisioner" --version 2>&1 | tail -n 1)"
log "  pause:          $("${bin_dir}/pause" -v)"
log "  go:             ${go_version}"

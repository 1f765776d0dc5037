#!/usr/bin/env bash
# Builds the upstream CRDs of every non-built-in kind the stacks use into .work/crds/<group>/<name>.yaml, with
# .work/crds/index.json saying which module and version each came from (or which module the Go proxy refused).
# tests/support/crds.py installs them into the real-API-server tier's kube-apiserver.
#
# What is built from where: scripts/go/crds/sources.toml (the pin file). Manifests a module ships are used as
# shipped; for modules that ship none, controller-gen (sigs.k8s.io/controller-tools, wrapper module
# scripts/go/controller-gen, version in scripts/go/versions.env) generates them from the API types pinned in
# scripts/go/crds/go.mod. Nothing is written into the repository. Cached by a stamp of every input; a second run
# returns at once. A refused module does not fail the build (the tests fail its kinds by name), but leaves no
# stamp, so the next run asks the proxy again.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
stamp_dir="${repo_root}/.tools/stamps"
script_name=build-crds
# shellcheck source=scripts/go/common.sh
source "${repo_root}/scripts/go/common.sh"
tool_module="${go_dir}/controller-gen"
crds_module="${go_dir}/crds"
sources="${crds_module}/sources.toml"
assembler="${repo_root}/scripts/assemble-crds.py"
out_dir="${repo_root}/.work/crds"
# Debian's python3 (+ python3-yaml): this runs beside the virtualenv's set-up, not after it.
python=/usr/bin/python3


command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin/go)"
"${python}" -c 'import tomllib, yaml' 2>/dev/null \
  || die "${python} lacks tomllib or yaml: run scripts/install-system-packages.sh (python3-yaml, Python >= 3.11)"

controller_tools_version="$(read_pin CONTROLLER_TOOLS_VERSION)"
grep -Eq "^[[:space:]]*(require[[:space:]]+)?sigs\.k8s\.io/controller-tools[[:space:]]+${controller_tools_version//./\\.}([[:space:]]|$)" \
  "${tool_module}/go.mod" \
  || die "${tool_module}/go.mod does not require sigs.k8s.io/controller-tools ${controller_tools_version} (pinned in ${versions_file})"

export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
# The proxy is the only source here; a refusal must be reported as the proxy's, not as a failed git clone.
goproxy="$(go env GOPROXY)"
export GOPROXY="${goproxy%,direct}"
go_version="$(go env GOVERSION)"
mkdir -p "${bin_dir}" "${stamp_dir}"
total_start=${SECONDS}

# -- controller-gen ---------------------------------------------------------------------------------------------
controller_gen="${bin_dir}/controller-gen"
ldflags="-X sigs.k8s.io/controller-tools/pkg/version.version=${controller_tools_version}"
tool_key="controller-gen ${controller_tools_version} ${go_version} $(cat "${tool_module}/go.mod" "${tool_module}/go.sum" <(printf '%s' "${ldflags}") | sha256sum | cut -d' ' -f1)"
if [[ -x "${controller_gen}" && "$(cat "${stamp_dir}/controller-gen.stamp" 2>/dev/null)" == "${tool_key}" ]]; then
  log "controller-gen ${controller_tools_version}: up to date"
else
  log "controller-gen ${controller_tools_version}: building"
  start=${SECONDS}
  (cd "${tool_module}" && go build -trimpath -ldflags "-s -w ${ldflags}" -o "${controller_gen}.tmp" \
    sigs.k8s.io/controller-tools/cmd/controller-gen)
  mv -f "${controller_gen}.tmp" "${controller_gen}"
  printf '%s' "${tool_key}" > "${stamp_dir}/controller-gen.stamp"
  log "controller-gen ${controller_tools_version}: built in $((SECONDS - start))s"
fi

# -- the CRDs ---------------------------------------------------------------------------------------------------
crds_stamp="${stamp_dir}/crds.stamp"
crds_key="crds ${go_version} $(cat "${sources}" "${crds_module}/go.mod" "${crds_module}/go.sum" "${assembler}" \
  <(printf '%s' "${tool_key}") | sha256sum | cut -d' ' -f1)"
if [[ -f "${out_dir}/index.json" && "$(cat "${crds_stamp}" 2>/dev/null)" == "${crds_key}" ]]; then
  log "CRDs: up to date (${out_dir#"${repo_root}"/})"
  exit 0
fi
rm -f "${crds_stamp}"
start=${SECONDS}
status=0
"${python}" "${assembler}" --sources "${sources}" --crds-module "${crds_module}" --controller-gen "${controller_gen}" \
  --out "${out_dir}" --go "$(command -v go)" || status=$?
case "${status}" in
  0) printf '%s' "${crds_key}" > "${crds_stamp}"
     log "CRDs: built in $((SECONDS - start))s (all in $((SECONDS - total_start))s)" ;;
  3) log "CRDs: built in $((SECONDS - start))s WITH REFUSED MODULES (see above); no stamp, the next run retries" ;;
  *) die "assembling the CRDs failed (exit ${status})" ;;
esac

#!/usr/bin/env bash
# Builds the Kubernetes provider plugin (pulumi-resource-kubernetes) from the Go module proxy into
# .tools/plugins/kubernetes/, then installs it into the project's PULUMI_HOME as plugin kubernetes
# v$PULUMI_KUBERNETES_VERSION (scripts/install-kubernetes-plugin.sh).
#
# Upstream's cmd/pulumi-resource-kubernetes embeds two generated files its module zip lacks. So the wrapper module
# scripts/go/pulumi-kubernetes (our own main package, calling provider.Serve like upstream's) is copied into a build
# directory under .work/, upstream's own generator (generate.go beside upstream's main) writes schema-embed.json and
# terraform-mapping-embed.json there from the module's schema.json and terraform-mapping.json, and the copy is built.
# Nothing generated is committed.
#
# Cost (2 cores): cold ~1,500 CPU-seconds of compiling (25-50 min wall on a loaded machine), ~4.5 GB peak RSS and
# ~4.3 GB of Go build cache; warm (Go cache filled) ~95 s; cached (stamp matches) instant. The binary is ~300 MB.
# GO_BUILD_JOBS (default: Go's own, the number of cores) caps parallel compiles, and with them peak memory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script_name=build-kubernetes-plugin
# shellcheck source=scripts/go/common.sh
source "${repo_root}/scripts/go/common.sh"
module_dir="${go_dir}/pulumi-kubernetes"
plugin_dir="${repo_root}/.tools/plugins/kubernetes"
plugin_bin="${plugin_dir}/pulumi-resource-kubernetes"
stamp="${repo_root}/.tools/stamps/pulumi-resource-kubernetes.stamp"
build_dir="${repo_root}/.work/build/pulumi-kubernetes"
provider_module=github.com/pulumi/pulumi-kubernetes/provider/v4


if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:${PATH}"
fi
command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin/go)"

plugin_version="$(read_pin PULUMI_KUBERNETES_VERSION)"
module_version="$(read_pin PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION)"
check_pin_in_gomod "${module_dir}/go.mod" "${provider_module}" "${module_version}"

# Never let go fetch a different toolchain or rewrite the committed go.mod/go.sum.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false${GO_BUILD_JOBS:+ -p=${GO_BUILD_JOBS}}"
export CGO_ENABLED=0

ldflags="-s -w -X ${provider_module}/pkg/version.Version=${plugin_version}"
# Identity of a build: the pinned versions, Go version, wrapper module content, link flags.
key="pulumi-resource-kubernetes ${plugin_version} ${module_version} $(go env GOVERSION) $(
  cat "${module_dir}/go.mod" "${module_dir}/go.sum" "${module_dir}/main.go" | sha256sum | cut -d' ' -f1
) $(printf '%s' "${ldflags}" | sha256sum | cut -d' ' -f1)"

if [[ -x "${plugin_bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
  log "pulumi-resource-kubernetes v${plugin_version}: up to date (${plugin_bin#"${repo_root}"/})"
else
  total_start=${SECONDS}
  rm -f "${stamp}"
  rm -rf "${build_dir}"
  mkdir -p "${build_dir}" "${plugin_dir}" "$(dirname "${stamp}")"
  cp "${module_dir}/go.mod" "${module_dir}/go.sum" "${module_dir}/main.go" "${build_dir}/"

  # The provider module's copy in the Go module cache (go.sum verifies what is downloaded).
  provider_dir="$(cd "${build_dir}" && go mod download -json "${provider_module}@${module_version}" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "${provider_dir}" && -d "${provider_dir}" ]] || die "could not find ${provider_module}@${module_version} in the Go module cache"
  upstream_cmd="${provider_dir}/cmd/pulumi-resource-kubernetes"
  for file in generate.go schema.json terraform-mapping.json; do
    [[ -f "${upstream_cmd}/${file}" ]] || die "${upstream_cmd}/${file} is missing from the provider module"
    install -m 0644 "${upstream_cmd}/${file}" "${build_dir}/${file}"
  done

  log "generating schema-embed.json + terraform-mapping-embed.json with upstream's generate.go (VERSION=${plugin_version})"
  start=${SECONDS}
  (cd "${build_dir}" && VERSION="${plugin_version}" go run generate.go)
  # Upstream's generate.go writes the embed files from the files it reads; the sources are not part of the build.
  rm -f "${build_dir}/generate.go" "${build_dir}/schema.json" "${build_dir}/terraform-mapping.json"
  log "generated in $((SECONDS - start)) s"

  log "building pulumi-resource-kubernetes v${plugin_version} from ${provider_module}@${module_version} (cold: tens of minutes on 2 cores)"
  start=${SECONDS}
  (cd "${build_dir}" && go build -trimpath -ldflags "${ldflags}" -o "${plugin_bin}.tmp" .)
  mv -f "${plugin_bin}.tmp" "${plugin_bin}"
  printf '%s\n' "${key}" > "${stamp}"
  log "built in $((SECONDS - start)) s ($((SECONDS - total_start)) s with generation), $(du -m "${plugin_bin}" | cut -f1) MB"
fi


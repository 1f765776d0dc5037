#!/usr/bin/env bash
# Installs the Kubernetes provider plugin built by scripts/build-kubernetes-plugin.sh into a Pulumi home as
# resource plugin kubernetes v$PULUMI_KUBERNETES_VERSION, so the engine finds it by the exact version the
# pulumi-kubernetes Python SDK asks for (the SDK's pulumi-plugin.json says 4.25.0; the engine accepts only an
# equal version from its plugin cache, and no download is possible here).
#
# Usage: scripts/install-kubernetes-plugin.sh [PULUMI_HOME]
#   PULUMI_HOME defaults to $PULUMI_HOME, else the project's .work/pulumi-home (what scripts/env.sh sets).
# Cached: when the installed binary is byte-identical to the built one, nothing is done.
#
# Why not the binary on PATH or a `plugins:` entry in Pulumi.yaml: the engine takes a pulumi-resource-kubernetes
# on PATH for ANY requested version, so an SDK/plugin mismatch would go unnoticed; and a `plugins:` path is
# resolved (and must exist) for every operation of the project, so stacks that never touch Kubernetes would need
# the 25-50 min plugin build. An installed plugin is looked up only when a program uses the provider, by version.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script_name=install-kubernetes-plugin
# shellcheck source=scripts/go/common.sh
source "${repo_root}/scripts/go/common.sh"
plugin_bin="${repo_root}/.tools/plugins/kubernetes/pulumi-resource-kubernetes"
pulumi_bin="${repo_root}/.tools/bin/pulumi"
pulumi_home="${1:-${PULUMI_HOME:-${repo_root}/.work/pulumi-home}}"

version="$(read_pin PULUMI_KUBERNETES_VERSION)"
[[ -x "${plugin_bin}" ]] || die "${plugin_bin} is missing: run scripts/build-kubernetes-plugin.sh"
[[ -x "${pulumi_bin}" ]] || die "${pulumi_bin} is missing: run scripts/bootstrap-engine.sh"

installed="${pulumi_home}/plugins/resource-kubernetes-v${version}/pulumi-resource-kubernetes"
if [[ -x "${installed}" ]] && cmp -s "${installed}" "${plugin_bin}"; then
  log "kubernetes v${version}: installed in ${pulumi_home}"
  exit 0
fi

mkdir -p "${pulumi_home}"
start=${SECONDS}
# No network: no update check, no registry look-up of the plugin name; --reinstall replaces an older build.
PULUMI_HOME="${pulumi_home}" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_REGISTRY_RESOLVE=true \
  "${pulumi_bin}" plugin install resource kubernetes "${version}" --file "${plugin_bin}" --reinstall
cmp -s "${installed}" "${plugin_bin}" \
  || die "pulumi plugin install did not put the built binary at ${installed}"
log "kubernetes v${version}: installed into ${pulumi_home} in $((SECONDS - start)) s"

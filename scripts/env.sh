# Project environment for running the Pulumi engine. Source it, do not execute it:
#     source scripts/env.sh
# Puts the project-local tools (.tools/bin, filled by scripts/bootstrap-engine.sh) and the project venv first on
# PATH, and keeps all Pulumi state, plugins and credentials inside the repo. It deliberately sets no
# PULUMI_CONFIG_PASSPHRASE: which secret protects which stack is decided per stack, not globally.
# Bash only; no `set -e` here because it would leak into the caller's shell.

if [ -z "${BASH_VERSION:-}" ]; then
    echo "scripts/env.sh: source it from bash" >&2
    return 1 2>/dev/null || exit 1
fi
# The repo root is found from this file's location, so the repo can live anywhere.
EAF_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export EAF_REPO_ROOT

# Prepend a directory to PATH once, so sourcing twice does not grow PATH.
_eaf_path_prepend() {
    local rest="" dir
    local IFS=:
    for dir in $PATH; do
        [ "$dir" = "$1" ] || rest="${rest:+$rest:}$dir"
    done
    PATH="$1${rest:+:$rest}"
}
# Order matters: .tools/bin ends up first so the pinned pulumi wins over any other on PATH; the venv comes
# next so the language host finds the venv's python and the pulumi SDK pinned in requirements.txt.
_eaf_path_prepend "$EAF_REPO_ROOT/.venv/bin"
_eaf_path_prepend "$EAF_REPO_ROOT/.tools/bin"
unset -f _eaf_path_prepend
export PATH

# Local file backend under .work/ unless the caller chose another backend. Only the local stack may use it: dev and
# prod refuse to run without the shared one, exported before sourcing this (README, "Shared state backend").
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$EAF_REPO_ROOT/.work/state}"
# Plugins, workspace settings and credentials stay project-local instead of in ~/.pulumi.
export PULUMI_HOME="${PULUMI_HOME:-$EAF_REPO_ROOT/.work/pulumi-home}"
# No internet: the update check could only time out.
export PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p "${PULUMI_HOME}"
case "$PULUMI_BACKEND_URL" in
    file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
esac
# libvirt's qemu+ssh transport forks ssh inside the dynamic-provider process, which runs gRPC; with gRPC's fork
# handlers on, about 1 connection in 8 fails ("Cannot recv data: ... epoll_wait error: Bad file descriptor:
# Connection reset by peer"; measured by the multi-host tier, 5 of 39 opens). The engine passes this on to the
# provider process, which reads it before importing gRPC.
export GRPC_ENABLE_FORK_SUPPORT=false

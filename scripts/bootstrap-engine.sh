#!/usr/bin/env bash
# Makes the Pulumi engine available in .tools/bin: the `pulumi` CLI, the Python language host
# (`pulumi-language-python` + `pulumi-language-python-exec`) and the Python dynamic-provider shim
# (`pulumi-resource-pulumi-python`).
#
# No prebuilt binaries can be downloaded here, so the pinned versions (scripts/go/versions.env) are built from Go
# modules through the wrapper modules under scripts/go/. If a pulumi that is new enough is already on PATH together
# with a Python language host, those are linked instead of building.
#
# Usage: scripts/bootstrap-engine.sh [--force-build]
#   --force-build  ignore any pulumi on PATH and build the pinned versions (reproducible CI).
# Cached: a second run only compares stamp files and returns at once.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
GO_DIR="$REPO_ROOT/scripts/go"
BIN_DIR="$REPO_ROOT/.tools/bin"
# Stamps live next to the binaries so that wiping .tools/ also wipes the cache record.
STAMP_DIR="$REPO_ROOT/.tools/stamps"
CLI_MODULE="$GO_DIR/pulumi"
HOST_MODULE="$GO_DIR/pulumi-language-python"
SDK_MODULE_PATH="github.com/pulumi/pulumi/sdk/v3"

# shellcheck source=go/versions.env
source "$GO_DIR/versions.env"

force_build=0
for arg in "$@"; do
    case "$arg" in
        --force-build) force_build=1 ;;
        -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "bootstrap-engine: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "[bootstrap-engine] $*"; }
die() { echo "[bootstrap-engine] ERROR: $*" >&2; exit 1; }

# True when version $1 >= version $2 (both without a leading "v").
version_at_least() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Hash of a wrapper module's go.mod + go.sum: a changed dependency pin invalidates the cached build even when the
# headline version stays the same.
module_hash() {
    cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -d' ' -f1
}

stamp_matches() {
    [ -f "$STAMP_DIR/$1" ] && [ "$(cat "$STAMP_DIR/$1")" = "$2" ]
}

write_stamp() {
    mkdir -p "$STAMP_DIR"
    printf '%s\n' "$2" > "$STAMP_DIR/$1"
}

# The go.mod files are the real build pins; versions.env must say the same, or the stamps would lie.
check_module_pin() {
    local module_dir="$1" module="$2" version="$3"
    grep -Eq "^[[:space:]]*(require[[:space:]]+)?${module//./\\.} v${version//./\\.}( |$)" "$module_dir/go.mod" \
        || die "$module_dir/go.mod does not require $module v$version (scripts/go/versions.env); fix one of them"
}

check_module_pin "$CLI_MODULE" github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
check_module_pin "$CLI_MODULE" "$SDK_MODULE_PATH" "$PULUMI_VERSION"
check_module_pin "$HOST_MODULE" "$SDK_MODULE_PATH" "$PULUMI_LANGUAGE_PYTHON_SDK_VERSION"

# The files a working engine needs in .tools/bin.
ENGINE_FILES=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)

engine_files_present() {
    local name
    for name in "${ENGINE_FILES[@]}"; do
        [ -x "$BIN_DIR/$name" ] || return 1
    done
}

cli_stamp="built pulumi v$PULUMI_VERSION module=$(module_hash "$CLI_MODULE")"
host_stamp="built pulumi-language-python sdk v$PULUMI_LANGUAGE_PYTHON_SDK_VERSION scripts sdk v$PULUMI_VERSION module=$(module_hash "$HOST_MODULE")"

print_versions() {
    log "pulumi: $("$BIN_DIR/pulumi" version) ($(readlink -f "$BIN_DIR/pulumi"))"
    log "python language host: $(readlink -f "$BIN_DIR/pulumi-language-python")"
    log "python exec shim: $(readlink -f "$BIN_DIR/pulumi-language-python-exec")"
    log "python dynamic-provider shim: $(readlink -f "$BIN_DIR/pulumi-resource-pulumi-python")"
    log "use it with: source scripts/env.sh"
}

# --- cached? ----------------------------------------------------------------------------------------------------
if engine_files_present; then
    if [ "$force_build" = 0 ] && [ -f "$STAMP_DIR/engine-linked.stamp" ] \
        && [ "$(head -n1 "$STAMP_DIR/engine-linked.stamp")" = "linked min=v$PULUMI_MIN_VERSION" ]; then
        log "cached: using pulumi linked from PATH ($(tail -n +2 "$STAMP_DIR/engine-linked.stamp" | paste -sd ' '))"
        print_versions
        exit 0
    fi
    if stamp_matches pulumi-cli.stamp "$cli_stamp" && stamp_matches pulumi-python-host.stamp "$host_stamp"; then
        log "cached: pinned engine already built (pulumi v$PULUMI_VERSION, python host from sdk v$PULUMI_LANGUAGE_PYTHON_SDK_VERSION)"
        print_versions
        exit 0
    fi
fi

mkdir -p "$BIN_DIR" "$STAMP_DIR"

# --- use a pulumi from PATH? ------------------------------------------------------------------------------------
# Look on PATH without .tools/bin, so an earlier link or build is not mistaken for an outside install.
path_without_tools() {
    local rest="" dir
    local IFS=:
    for dir in $PATH; do
        [ "$(readlink -f "$dir" 2>/dev/null || echo "$dir")" = "$BIN_DIR" ] || rest="${rest:+$rest:}$dir"
    done
    printf '%s' "$rest"
}

# Prints the path of an outside tool, searching first next to the outside pulumi (official installs bundle the
# language hosts there), then on PATH.
find_outside_tool() {
    local name="$1" pulumi_dir="$2"
    if [ -x "$pulumi_dir/$name" ]; then
        printf '%s' "$pulumi_dir/$name"
    else
        PATH="$(path_without_tools)" command -v "$name" || true
    fi
}

try_link_outside_engine() {
    local outside_pulumi outside_version pulumi_dir name target
    outside_pulumi="$(PATH="$(path_without_tools)" command -v pulumi || true)"
    [ -n "$outside_pulumi" ] || { log "no pulumi on PATH: building the pinned one"; return 1; }
    outside_pulumi="$(readlink -f "$outside_pulumi")"
    outside_version="$("$outside_pulumi" version 2>/dev/null | head -n1 || true)"
    outside_version="${outside_version#v}"
    if [ -z "$outside_version" ] || ! version_at_least "$outside_version" "$PULUMI_MIN_VERSION"; then
        log "pulumi on PATH ($outside_pulumi, version '${outside_version:-unknown}') is older than v$PULUMI_MIN_VERSION: building the pinned one"
        return 1
    fi
    pulumi_dir="$(dirname "$outside_pulumi")"
    declare -A targets=([pulumi]="$outside_pulumi")
    for name in pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python; do
        target="$(find_outside_tool "$name" "$pulumi_dir")"
        if [ -z "$target" ]; then
            log "pulumi v$outside_version on PATH but no $name next to it or on PATH: building the pinned engine"
            return 1
        fi
        targets[$name]="$target"
    done
    log "linking pulumi v$outside_version from $pulumi_dir into .tools/bin"
    {
        echo "linked min=v$PULUMI_MIN_VERSION"
        for name in "${ENGINE_FILES[@]}"; do
            ln -sfn "${targets[$name]}" "$BIN_DIR/$name"
            echo "$name=${targets[$name]}"
        done
    } > "$STAMP_DIR/engine-linked.stamp"
    rm -f "$STAMP_DIR/pulumi-cli.stamp" "$STAMP_DIR/pulumi-python-host.stamp"
}

if [ "$force_build" = 0 ] && try_link_outside_engine; then
    print_versions
    exit 0
fi

# --- build the pinned engine ------------------------------------------------------------------------------------
rm -f "$STAMP_DIR/engine-linked.stamp"
command -v go >/dev/null || die "go is not on PATH; it is needed to build the pinned Pulumi engine"
log "go: $(go version)"
# -mod=readonly: the committed go.mod/go.sum are the pins; a build that would need to change them must fail, not
# silently resolve something else. -buildvcs=false: the wrapper modules live in this repo, whose VCS state says
# nothing about the tools. The default GOPROXY is used.
export GOFLAGS="-mod=readonly -buildvcs=false"

# Removes an earlier link (from a PATH install) so a build never writes through a symlink into someone else's file.
unlink_if_symlink() {
    if [ -L "$1" ]; then rm -f "$1"; fi
}

if [ -x "$BIN_DIR/pulumi" ] && [ ! -L "$BIN_DIR/pulumi" ] && stamp_matches pulumi-cli.stamp "$cli_stamp"; then
    log "cached: pulumi v$PULUMI_VERSION"
else
    log "building pulumi v$PULUMI_VERSION (cold: about 4 minutes; cached Go build: seconds)"
    unlink_if_symlink "$BIN_DIR/pulumi"
    rm -f "$STAMP_DIR/pulumi-cli.stamp"
    started=$SECONDS
    (cd "$CLI_MODULE" && go build -o "$BIN_DIR/pulumi" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    write_stamp pulumi-cli.stamp "$cli_stamp"
    log "built pulumi in $((SECONDS - started)) s"
fi

# Directory of a module version in the Go module cache (downloads it if missing; go.sum verifies it).
module_cache_dir() {
    local module_dir="$1" module_at_version="$2" dir
    dir="$(cd "$module_dir" && go mod download -json "$module_at_version" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [ -n "$dir" ] && [ -d "$dir" ] || die "could not find $module_at_version in the Go module cache"
    printf '%s' "$dir"
}

# Copies a script from the module cache (read-only files there) into .tools/bin as an executable file.
install_script() {
    local source_file="$1" name
    name="$(basename "$source_file")"
    [ -f "$source_file" ] || die "$source_file is missing from the Go module cache"
    unlink_if_symlink "$BIN_DIR/$name"
    install -m 0755 "$source_file" "$BIN_DIR/$name"
}

if engine_files_present && [ ! -L "$BIN_DIR/pulumi-language-python" ] && stamp_matches pulumi-python-host.stamp "$host_stamp"; then
    log "cached: python language host"
else
    log "building pulumi-language-python from sdk v$PULUMI_LANGUAGE_PYTHON_SDK_VERSION"
    unlink_if_symlink "$BIN_DIR/pulumi-language-python"
    rm -f "$STAMP_DIR/pulumi-python-host.stamp"
    started=$SECONDS
    (cd "$HOST_MODULE" && go build -o "$BIN_DIR/pulumi-language-python" \
        "$SDK_MODULE_PATH/python/cmd/pulumi-language-python")
    log "built pulumi-language-python in $((SECONDS - started)) s"
    # The exec shim and the dynamic-provider shim are Python/sh scripts shipped inside the sdk module. They come
    # from the CLI's sdk version (not the old host's) so they match the pulumi SDK the venv runs.
    sdk_dir="$(module_cache_dir "$CLI_MODULE" "$SDK_MODULE_PATH@v$PULUMI_VERSION")"
    log "copying python shims from $sdk_dir/python"
    install_script "$sdk_dir/python/cmd/pulumi-language-python-exec"
    install_script "$sdk_dir/python/dist/pulumi-resource-pulumi-python"
    write_stamp pulumi-python-host.stamp "$host_stamp"
fi

engine_files_present || die "engine incomplete in $BIN_DIR after the build"
print_versions

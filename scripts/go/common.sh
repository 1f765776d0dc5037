# Sourced by the scripts that build or install the Go-built tools: their messages, the pins of versions.env, and
# the check that a wrapper module's go.mod requires exactly the pinned version. The sourcing script sets
# `script_name` (its message prefix) first.
go_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
versions_file="${go_dir}/versions.env"

log() { printf '[%s] %s\n' "${script_name}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${script_name}" "$*" >&2; exit 1; }

# One key of versions.env (shared by every build script, so it is read, not sourced).
read_pin() {
  local key="$1" value
  value="$(awk -F= -v k="${key}" '$1 == k { v = $2 } END { print v }' "${versions_file}")"
  [[ -n "${value}" ]] || die "${key} is not set in ${versions_file}"
  printf '%s' "${value}"
}

# The wrapper go.mod is what Go builds: refuse when it drifted from the pin, so versions.env never lies.
check_pin_in_gomod() {
  local gomod="$1" module="$2" version="$3"
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?${module//./\\.}[[:space:]]+${version//./\\.}([[:space:]]|$)" "${gomod}" \
    || die "${gomod} does not require ${module} ${version} (pinned in ${versions_file})"
}

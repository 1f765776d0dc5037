#!/usr/bin/env bash
# Start virtlogd and libvirtd without systemd (CI containers and this machine have none), then wait
# until the qemu:///system driver answers. Idempotent: daemons that are already alive are left alone.
#
# Usage: scripts/start-libvirtd.sh
# Env:   LIBVIRTD_WAIT_SECONDS (default 90) how long to wait for the first answer; the very first
#        client call after a fresh start takes ~8 s because libvirtd probes QEMU's capabilities.
set -euo pipefail

WAIT_SECONDS="${LIBVIRTD_WAIT_SECONDS:-90}"
URI="qemu:///system"

log() { printf '[start-libvirtd] %s\n' "$*"; }

missing=()
for bin in libvirtd virtlogd virsh qemu-system-x86_64; do
    # libvirtd/virtlogd live in /usr/sbin, which a non-login PATH may lack.
    if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$bin" ]]; then
        missing+=("$bin")
    fi
done
if ((${#missing[@]})); then
    log "ERROR: missing ${missing[*]}."
    log "Install: apt-get install -y libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base"
    log "(or run .ci/run, which installs the project's system packages)"
    exit 1
fi
export PATH="$PATH:/usr/sbin:/sbin"

# alive PIDFILE SOCKET: true when the pid in PIDFILE runs and its socket exists.
alive() {
    local pidfile="$1" sock="$2" pid
    [[ -S "$sock" && -r "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# start_daemon NAME PIDFILE SOCKET
start_daemon() {
    local name="$1" pidfile="$2" sock="$3" i
    if alive "$pidfile" "$sock"; then
        log "$name already running (pid $(<"$pidfile"))"
        return 0
    fi
    # A stale pidfile from a killed daemon makes the new one refuse to start.
    rm -f "$pidfile"
    log "starting $name"
    "$name" -d
    for ((i = 0; i < 100; i++)); do
        alive "$pidfile" "$sock" && break
        sleep 0.1
    done
    if ! alive "$pidfile" "$sock"; then
        log "ERROR: $name did not come up (no live pid in $pidfile or no socket $sock)"
        exit 1
    fi
    log "$name started (pid $(<"$pidfile"))"
}

start_daemon virtlogd /run/virtlogd.pid /run/libvirt/virtlogd-sock
start_daemon libvirtd /run/libvirtd.pid /run/libvirt/libvirt-sock

log "waiting for $URI (first call after a fresh start probes QEMU, ~8 s)"
start=$SECONDS
until virsh -c "$URI" version >/dev/null 2>&1; do
    if ((SECONDS - start >= WAIT_SECONDS)); then
        log "ERROR: $URI did not answer within ${WAIT_SECONDS}s"
        virsh -c "$URI" version || true
        exit 1
    fi
    sleep 0.5
done
log "$URI answers after $((SECONDS - start))s"

virsh -c "$URI" version
log "virtlogd: $(virtlogd --version | sed -n 1p)"
log "dnsmasq: $(dnsmasq --version | sed -n 1p)"

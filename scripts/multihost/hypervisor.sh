#!/usr/bin/env bash
# One stand-in hypervisor for the multi-host tier (tests/multihost): its own libvirtd, virtlogd and sshd, with
# their own /run, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt, so that
# qemu+ssh://root@ADDRESS:PORT/system lands on this host's libvirtd and nothing else. Run it in a new mount
# namespace; it sets the namespace up, starts the daemons and returns (they keep the namespace alive):
#
#   unshare --mount --propagation private -- bash scripts/multihost/hypervisor.sh HOSTDIR ADDRESS PORT
#
# HOSTDIR must hold etc/ (the libvirt config: *.conf) and sshd_config (ListenAddress ADDRESS:PORT; its host key and
# authorized keys). lib/, log/ (log/qemu: the serial logs) and cache/ are created if missing. Prints one line per
# daemon, "pid NAME PID", then "listening ADDRESS:PORT". Stop the daemons by those PIDs (destroy the VMs first:
# QEMU outlives libvirtd); the namespace goes away with its last process.
# The network namespace is the machine's: the site bridge and the tap devices are shared, as on a real site VLAN.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin"
hostdir="$1" address="$2" port="$3"

die() { echo "[hypervisor] ERROR: $*" >&2; exit 1; }
[[ -d "$hostdir/etc" && -r "$hostdir/sshd_config" ]] || die "$hostdir needs etc/ and sshd_config"
# Only inside a private mount namespace: on the machine's own one these mounts would hide its libvirtd.
[[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]] || die "not in a new mount namespace (run it under unshare --mount --propagation private)"

for dir in lib cache log/qemu; do mkdir -p "$hostdir/$dir"; done
# QEMU runs as libvirt-qemu: it must traverse the pools (lib/) and write the serial logs' folder's files.
chmod 0755 "$hostdir" "$hostdir/lib" "$hostdir/log" "$hostdir/log/qemu"
chmod 0711 "$hostdir/cache"
# A private /run: libvirt's sockets and pid files, sshd's privilege-separation folder.
mount -t tmpfs -o mode=0755,size=64m eaf-mh-run /run
mkdir -p /run/libvirt /run/sshd /run/lock
chmod 0755 /run/sshd
mount --bind "$hostdir/etc" /etc/libvirt
mount --bind "$hostdir/lib" /var/lib/libvirt
mount --bind "$hostdir/cache" /var/cache/libvirt
mount --bind "$hostdir/log" /var/log/libvirt

wait_for() {  # wait_for PIDFILE SOCKET|- : until the pid runs (and the socket exists)
    local i
    for ((i = 0; i < 200; i++)); do
        if [[ -s "$1" ]] && kill -0 "$(<"$1")" 2>/dev/null && [[ "$2" == - || -S "$2" ]]; then return 0; fi
        sleep 0.05
    done
    die "no live pid in $1${2:+ or no socket $2}"
}
virtlogd -d
wait_for /run/virtlogd.pid /run/libvirt/virtlogd-sock
libvirtd -d
wait_for /run/libvirtd.pid /run/libvirt/libvirt-sock
/usr/sbin/sshd -f "$hostdir/sshd_config" -o "PidFile=/run/sshd.pid" -E "$hostdir/log/sshd.log"
wait_for /run/sshd.pid -
for daemon in virtlogd libvirtd sshd; do echo "pid $daemon $(</run/$daemon.pid)"; done
echo "listening $address:$port"

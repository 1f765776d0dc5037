#!/usr/bin/env bash
# Build the EAF probe image: the stand-in OS the local stack boots where real CoreOS images cannot be
# downloaded. Everything comes from installed Debian packages (linux-image-amd64, busybox-static,
# e2fsprogs, cpio, qemu-utils), so the same packages give the same bytes (checksums are pinned).
#
# Usage: scripts/build-probe-image.sh [OUTDIR]        (default: .work/probe in the repo)
# Env:   PROBE_KERNEL_VERSION  kernel to use (default: newest with /boot/vmlinuz-V and /lib/modules/V)
#        SOURCE_DATE_EPOCH     timestamp stamped on every file (default 1)
#
# Produces in OUTDIR (mode 0644, OUTDIR 0755 so libvirt-qemu can read them):
#   vmlinuz           Debian's kernel, copied
#   initrd.img        gzip'd newc cpio: busybox, the needed modules, scripts/probe/init as /init
#   probe-base.qcow2  4 MiB ext2 disk holding /eaf-probe-marker; the "OS base image" volumes sit on
#   SHA256SUMS        sha256sum -c format for the three artifacts
#   manifest.json     checksums, sizes, kernel version, kernel cmdline, expected disk values
# Direct kernel boot with cmdline "console=ttyS0,115200 quiet" (see scripts/probe/init for options).
# Cached: a rerun with unchanged inputs only verifies the checksums.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-$ROOT/.work/probe}"
EPOCH="${SOURCE_DATE_EPOCH:-1}"
CMDLINE="console=ttyS0,115200 quiet"
MARKER="eaf-probe-base v1"
DISK_SIZE_MIB=4
DISK_HEAD_BYTES=1048576
# Fixed so the ext2 image is the same on every build (mke2fs would pick random ones).
DISK_UUID="6561662d-7072-6f62-652d-626173650001"
# What /init needs: fw_cfg for Ignition, virtio disk and NIC, ext4 (serves ext2) to read the marker
# plus crc32c_generic (ext4 asks the crypto API for crc32c at mount; no modinfo dependency says so,
# and the TCG CPU lacks SSE4.2 for crc32c_intel), button + evdev so busybox acpid sees the ACPI
# power button. Dependencies are added from modinfo.
WANTED_MODULES=(qemu_fw_cfg virtio_pci virtio_blk virtio_net crc32c_generic ext4 button evdev)
ARTIFACTS=(vmlinuz initrd.img probe-base.qcow2)

log() { printf '[build-probe-image] %s\n' "$*"; }
die() {
    log "ERROR: $*"
    exit 1
}

export PATH="$PATH:/usr/sbin:/sbin"
for tool in busybox cpio gzip mke2fs debugfs qemu-img modinfo sha256sum; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "missing $tool: apt-get install -y linux-image-amd64 busybox-static cpio e2fsprogs qemu-utils kmod (or run .ci/run)"
done
BUSYBOX="$(command -v busybox)"
# The initramfs has no libc: ldd succeeds only on a dynamically linked busybox.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked: apt-get install -y busybox-static"
fi

if [[ -z "${PROBE_KERNEL_VERSION:-}" ]]; then
    for v in $(ls /lib/modules 2>/dev/null | sort -V -r); do
        if [[ -r "/boot/vmlinuz-$v" ]]; then
            PROBE_KERNEL_VERSION="$v"
            break
        fi
    done
fi
KVER="${PROBE_KERNEL_VERSION:-}"
[[ -n "$KVER" && -r "/boot/vmlinuz-$KVER" && -d "/lib/modules/$KVER" ]] ||
    die "no kernel with /boot/vmlinuz-V and /lib/modules/V: apt-get install -y linux-image-amd64"
VMLINUZ="/boot/vmlinuz-$KVER"

# ---- module closure in load order (dependencies first) ----------------------------------------
declare -A SEEN=()
MODULE_FILES=()
add_module() {
    local name="$1" file dep deps
    [[ -n "${SEEN[$name]:-}" ]] && return 0
    SEEN[$name]=1
    file="$(modinfo -k "$KVER" -F filename "$name")" || die "module $name not found for $KVER"
    # Built-in code needs no loading.
    [[ "$file" == "(builtin)" ]] && return 0
    deps="$(modinfo -k "$KVER" -F depends "$name")"
    for dep in ${deps//,/ }; do add_module "$dep"; done
    # busybox insmod cannot decompress; Debian 12 ships plain .ko.
    [[ "$file" == *.ko ]] || die "module $file is compressed; busybox insmod needs plain .ko"
    MODULE_FILES+=("$file")
}
for m in "${WANTED_MODULES[@]}"; do add_module "$m"; done

# ---- cache check ---------------------------------------------------------------------------------
tool_versions="$(cpio --version | sed -n 1p; gzip --version | sed -n 1p; mke2fs -V 2>&1 | sed -n 1p; qemu-img --version | sed -n 1p; busybox | sed -n 1p)"
INPUTS_SHA="$({
    printf '%s\n' "$KVER" "$EPOCH" "$CMDLINE" "$MARKER" "$DISK_SIZE_MIB" "$DISK_UUID" "$tool_versions"
    sha256sum "${BASH_SOURCE[0]}" "$ROOT"/scripts/probe/* "$VMLINUZ" "$BUSYBOX" "${MODULE_FILES[@]}" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)"

cached=1
[[ -r "$OUTDIR/.inputs.sha256" && "$(<"$OUTDIR/.inputs.sha256")" == "$INPUTS_SHA" ]] || cached=0
for a in "${ARTIFACTS[@]}" SHA256SUMS manifest.json; do [[ -r "$OUTDIR/$a" ]] || cached=0; done
if ((cached)) && (cd "$OUTDIR" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    log "cached: $OUTDIR (inputs $INPUTS_SHA)"
else
    log "building probe image for kernel $KVER into $OUTDIR"
    umask 022
    mkdir -p "$OUTDIR"
    chmod 0755 "$OUTDIR"
    BUILD="$(mktemp -d "$OUTDIR/.build.XXXXXX")"
    trap 'rm -rf "$BUILD"' EXIT
    chmod 0755 "$BUILD"

    # ---- initramfs tree ----
    tree="$BUILD/initramfs"
    mkdir -p "$tree"/{bin,etc/probe,proc,sys,dev,run,tmp,mnt,lib/modules/"$KVER"}
    install -m 0755 "$BUSYBOX" "$tree/bin/busybox"
    for applet in $("$BUSYBOX" --list | LC_ALL=C sort); do
        [[ "$applet" == busybox ]] || ln -s busybox "$tree/bin/$applet"
    done
    ln -s bin "$tree/sbin"
    install -m 0755 "$ROOT/scripts/probe/init" "$tree/init"
    install -m 0755 "$ROOT/scripts/probe/udhcpc.script" "$tree/etc/probe/udhcpc.script"
    : >"$tree/etc/probe/modules"
    for f in "${MODULE_FILES[@]}"; do
        rel="${f#/lib/modules/$KVER/}"
        install -D -m 0644 "$f" "$tree/lib/modules/$KVER/$rel"
        echo "/lib/modules/$KVER/$rel" >>"$tree/etc/probe/modules"
    done
    printf '%s\n' "$KVER" >"$tree/etc/probe/kernel-version"
    find "$tree" -exec touch -h -d "@$EPOCH" {} +
    # Sorted names, owner 0:0, fixed mtimes, --reproducible (no real inode numbers), gzip -n (no
    # name/time in the header): the same inputs give the same bytes.
    (cd "$tree" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
        gzip -9 -n >"$BUILD/initrd.img"

    # ---- base disk ----
    disk="$BUILD/disk"
    mkdir -p "$disk"
    printf '%s\n' "$MARKER" >"$disk/eaf-probe-marker"
    chmod 0644 "$disk/eaf-probe-marker"
    chmod 0755 "$disk"
    touch -h -d "@$EPOCH" "$disk/eaf-probe-marker" "$disk"
    # E2FSPROGS_FAKE_TIME pins the superblock times; -U and hash_seed pin the random ids.
    E2FSPROGS_FAKE_TIME="$EPOCH" mke2fs -q -F -t ext2 -b 1024 -m 0 -L eaf-probe-base -U "$DISK_UUID" \
        -E "hash_seed=$DISK_UUID,root_owner=0:0" -d "$disk" "$BUILD/probe-base.raw" "${DISK_SIZE_MIB}M" >/dev/null
    # mke2fs -d copies the host file's ctime, which touch cannot set: pin it inside the image.
    E2FSPROGS_FAKE_TIME="$EPOCH" debugfs -w -R "sif /eaf-probe-marker ctime @$EPOCH" "$BUILD/probe-base.raw" \
        >/dev/null 2>&1 || die "debugfs could not pin the marker's ctime"
    DISK_HEAD_SHA="$(head -c "$DISK_HEAD_BYTES" "$BUILD/probe-base.raw" | sha256sum | cut -d' ' -f1)"
    qemu-img convert -f raw -O qcow2 -o compat=1.1 "$BUILD/probe-base.raw" "$BUILD/probe-base.qcow2"
    rm -f "$BUILD/probe-base.raw"

    install -m 0644 "$VMLINUZ" "$BUILD/vmlinuz"
    chmod 0644 "$BUILD/initrd.img" "$BUILD/probe-base.qcow2"
    (cd "$BUILD" && sha256sum "${ARTIFACTS[@]}" >SHA256SUMS)

    # ---- manifest ----
    sha_of() { grep " $1\$" "$BUILD/SHA256SUMS" | cut -d' ' -f1; }
    entry() { printf '"%s":{"path":"%s","sha256":"%s","bytes":%s}' "$1" "$1" "$(sha_of "$1")" "$(stat -c %s "$BUILD/$1")"; }
    {
        printf '{\n  "format": 1,\n'
        printf '  "kernel_version": "%s",\n' "$KVER"
        printf '  "cmdline": "%s",\n' "$CMDLINE"
        printf '  "line_prefix": "EAF-PROBE ",\n'
        printf '  "artifacts": {%s, %s, %s},\n' "$(entry vmlinuz)" "$(entry initrd.img)" "$(entry probe-base.qcow2)"
        printf '  "base_image": {"format": "qcow2", "virtual_bytes": %s},\n' "$((DISK_SIZE_MIB * 1048576))"
        printf '  "disk": {"head_bytes": %s, "head_sha256": "%s", "marker": "%s"},\n' \
            "$DISK_HEAD_BYTES" "$DISK_HEAD_SHA" "$MARKER"
        printf '  "inputs_sha256": "%s"\n}\n' "$INPUTS_SHA"
    } >"$BUILD/manifest.json"
    chmod 0644 "$BUILD/SHA256SUMS" "$BUILD/manifest.json"

    # Replace the artifacts only now, so a failed build leaves the previous set intact.
    for a in "${ARTIFACTS[@]}" SHA256SUMS manifest.json; do mv -f "$BUILD/$a" "$OUTDIR/$a"; done
    printf '%s\n' "$INPUTS_SHA" >"$OUTDIR/.inputs.sha256"
    rm -rf "$BUILD"
    trap - EXIT
fi

# QEMU runs as libvirt-qemu: every parent directory must let others through (o+x).
d="$(cd "$OUTDIR" && pwd)"
while [[ "$d" != / ]]; do
    if [[ "$(stat -c %A "$d")" != *x ]]; then
        log "WARNING: $d is not o+x; libvirt-qemu cannot reach the artifacts (chmod o+x $d)"
    fi
    d="$(dirname "$d")"
done

for a in "${ARTIFACTS[@]}"; do
    log "$(printf '%-18s %9s bytes  sha256 %s' "$a" "$(stat -c %s "$OUTDIR/$a")" "$(grep " $a\$" "$OUTDIR/SHA256SUMS" | cut -d' ' -f1)")"
done
log "kernel $KVER, cmdline: $CMDLINE"
log "versions: busybox $(busybox | sed -n 1p | awk '{print $2}'), $(mke2fs -V 2>&1 | sed -n 1p), $(qemu-img --version | sed -n 1p)"

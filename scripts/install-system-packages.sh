#!/usr/bin/env bash
# Debian packages the project needs on a fresh machine: libvirt/QEMU (TCG is enough), the validators, what
# libvirt-python compiles against, what the probe image is built from, the one-node Kubernetes' runtime,
# Prometheus and buildah. Idempotent; quick when all are present.
set -euo pipefail

PACKAGES=(
  # libvirt + QEMU, run without systemd by scripts/start-libvirtd.sh
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base ovmf
  # validators: virt-xml-validate (libvirt-clients + libxml2-utils), ignition-validate
  libxml2-utils ignition
  # the real parsers of what Ignition writes: haproxy -c (haproxy.cfg), nmcli --offline (NetworkManager keyfiles),
  # keepalived --config-test (the load-balancer pair), chronyd -p (the nodes' time servers)
  haproxy network-manager keepalived chrony
  # the load balancers' image pulls: podman reads the mirrors (registries.conf.d) and proxy (containers.conf.d)
  podman
  # real CSRs for the CSR-approval tests (openssl req)
  openssl
  # libvirt-python builds against these; the venv is made from Debian's python3
  libvirt-dev pkg-config gcc python3-dev python3-venv
  # scripts/assemble-crds.py (scripts/build-crds.sh) runs on Debian's python3 beside the venv's set-up
  python3-yaml
  # the local probe image: Debian's kernel + busybox initramfs + a small ext2 base disk
  linux-image-amd64 busybox-static cpio gzip e2fsprogs
  # the shared Pulumi state backend (postgres://) and its real tier: server + psql; the tier starts its own
  # server on loopback (tests/support/postgres.py), the package's own cluster is never started
  postgresql-15 postgresql-client-15
  # the one-node Kubernetes of the apps tier (tests/support/kube_node.py): container runtime, pod network,
  # kube-proxy's iptables/conntrack; libc6-dev for the statically linked pause binary of the sandbox image
  containerd runc containernetworking-plugins iptables conntrack socat libc6-dev
  # real Prometheus for the dashboard and alert tests (tests/monitoring): the server and promtool
  prometheus
  # notebook image builds and their scan test (infra/images): buildah, and mmdebstrap for the test's base rootfs
  buildah mmdebstrap
  ca-certificates
  # the multi-host tier (tests/multihost): each stand-in hypervisor's sshd for qemu+ssh; dnsmasq-base (above) is
  # the site's DHCP/DNS stand-in there
  openssh-server
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> system packages: all ${#PACKAGES[@]} present"
  exit 0
fi
echo "==> system packages: installing ${missing[*]}"
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# Packages are installed for their tools only: no daemon may start from a maintainer script (NetworkManager would
# take over this machine's network; libvirtd is started by scripts/start-libvirtd.sh). policy-rc.d says so.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' > "$guard"
  chmod 0755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "==> system packages: done in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Bivouac needs, only those missing. Needs root or sudo.
set -euo pipefail

# chromium: the UI's tests; libvirt-dev, pkg-config: the libvirt binding's build;
# libvirt-daemon-system, qemu-system-x86, qemu-utils, libvirt-clients (virsh, virt-admin), tini: the box's
# hypervisor, its disks and event stream; util-linux (flock): starting that daemon; xorriso: NoCloud seeds; busybox-static, cpio, xz-utils: the tiny guest;
# syslinux, mtools: the disk guest the tests launch from a qcow2 image (build/disk-guest.sh);
# libjemalloc2: the appliance's allocator under plain node (electron/main/appliance-process.ts).
packages=(chromium openssl ca-certificates libvirt-dev pkg-config libvirt-daemon libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils xorriso busybox-static cpio xz-utils syslinux mtools tini util-linux dnsmasq-base nftables libjemalloc2)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "bivouac: installing Debian packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Builds the tiny guest: the box's "tiny" base image for demo apps and tests. Debian packages
# only (the kernel and busybox-static), byte-reproducible, and cached: a second run with the same
# packages, agent and script does nothing.
#
#   build/tiny-guest.sh [OUT_DIR]      default build/out/tiny; prints OUT_DIR on its last line
#
# OUT_DIR then holds `vmlinux` (the kernel, uncompressed: it boots twice as fast under TCG),
# `initrd.gz` (busybox, the virtio/ACPI modules, an /init and the Bivouac guest agent),
# `cmdline`, and `image.json` (what the appliance imports as the image named "tiny").
#
# Inside the guest, /init mounts the basics, loads the modules, brings eth0 up with DHCP and
# starts the agent, which reads its context from the fw_cfg file opt/bivouac/context (root only;
# qemu_fw_cfg is among the modules) and runs the recipes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(realpath -m "${1:-build/out/tiny}")
agent=appliance/src/guest/bivouac-agent
cmdline='console=ttyS0 quiet panic=-1'
# virtio (PCI, net, block, console), fw_cfg, CD-ROM with ISO 9660 (NoCloud seeds), ATA, and the
# ACPI power button (so a graceful shutdown request works).
modules='virtio_pci virtio_net virtio_blk virtio_console qemu_fw_cfg isofs sr_mod ata_piix ahci evdev button'

say() { echo "tiny-guest: $*" >&2; }

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1; }
package=$(kernel_package)
if [ -z "$package" ]; then
  say "no package lists yet; running apt-get update"
  "${sudo[@]}" apt-get update -qq
  package=$(kernel_package)
fi
[ -n "$package" ] || { say "cannot find the Debian kernel package (linux-image-amd64's dependency)"; exit 1; }
kernel_version=$(apt-cache policy "$package" | sed -n 's/^ *Candidate: //p')
busybox_version=$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: //p')

key=$(printf '%s\n' "$package=$kernel_version" "busybox-static=$busybox_version" "$cmdline" "$modules" |
  cat - "$0" "$agent" | sha256sum | cut -d' ' -f1)
if [ -f "$out/image.json" ] && [ "$(cat "$out/.key" 2>/dev/null)" = "$key" ]; then
  say "up to date ($package $kernel_version, busybox $busybox_version)"
  echo "$out"
  exit 0
fi

say "building from $package $kernel_version and busybox-static $busybox_version"
debs="$root/build/out/debs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$debs"
(
  cd "$debs"
  for wanted in "$package=$kernel_version" "busybox-static=$busybox_version"; do
    name=${wanted%%=*}
    ls "${name}"_*.deb >/dev/null 2>&1 && [ "$(dpkg-deb -f "$(ls "${name}"_*.deb | head -n 1)" Version)" = "${wanted#*=}" ] && continue
    rm -f "${name}"_*.deb
    apt-get download -q "$wanted" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true
    ls "${name}"_*.deb >/dev/null 2>&1 || { say "could not download $wanted"; exit 1; }
  done
)

# The kernel and its modules.
mkdir -p "$work/kernel"
dpkg-deb --fsys-tarfile "$debs/${package}"_*.deb | tar -x -C "$work/kernel" --wildcards './boot/vmlinuz-*' './lib/modules/*'
release=$(ls "$work/kernel/lib/modules")
# busybox's depmod needs `modules.order`-free trees; it writes modules.dep beside the modules.
dpkg-deb --fsys-tarfile "$debs"/busybox-static_*.deb | tar -x -C "$work" ./bin/busybox
busybox="$work/bin/busybox"
"$busybox" depmod -b "$work/kernel" "$release"

# The uncompressed kernel: the bzImage's payload is one xz stream (the extract-vmlinux method).
vmlinuz="$work/kernel/boot/vmlinuz-$release"
offset=$(LC_ALL=C grep -abo $'\xfd\x37\x7a\x58\x5a\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
[ -n "$offset" ] || { say "no xz stream in $vmlinuz"; exit 1; }
tail -c +$((offset + 1)) "$vmlinuz" | xz -dc >"$work/vmlinux" 2>/dev/null || true
[ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || { say "extracting vmlinux from $vmlinuz failed"; exit 1; }

# The initramfs tree: busybox, the modules' dependency closure, /init, the agent.
tree="$work/tree"
moddir="lib/modules/$release"
mkdir -p "$tree/bin" "$tree/sbin" "$tree/usr/bin" "$tree/usr/sbin" "$tree/etc" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/run" "$tree/tmp" "$tree/root" "$tree/$moddir"
cp "$busybox" "$tree/bin/busybox"
depfile="$work/kernel/$moddir/modules.dep"
closure() {
  # modules.dep lines: "kernel/path/name.ko: dep1.ko dep2.ko"
  local name path
  for name in "$@"; do
    path=$(grep -E "(^|/)(${name//_/[_-]})\.ko:" "$depfile" | head -n 1 | cut -d: -f1)
    [ -n "$path" ] || { say "module $name is not in $package"; exit 1; }
    echo "$path"
    # shellcheck disable=SC2046 # one word per dependency
    grep -E "^$path:" "$depfile" | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d'
  done
}
# One level of closure is not enough in general; iterate until nothing new appears.
wanted=$(closure $modules | sort -u)
while :; do
  more=$(for path in $wanted; do grep -E "^$path:" "$depfile" | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d'; done | cat - <(echo "$wanted") | sort -u)
  [ "$more" = "$wanted" ] && break
  wanted=$more
done
for path in $wanted; do
  mkdir -p "$tree/$moddir/$(dirname "$path")"
  cp "$work/kernel/$moddir/$path" "$tree/$moddir/$path"
done
"$busybox" depmod -b "$tree" "$release"

install -m 0755 "$agent" "$tree/usr/bin/bivouac-agent"
cat >"$tree/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc's hook: configure the interface with the leased address and route.
case $1 in
  deconfig) ifconfig "$interface" 0.0.0.0 ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
    if [ -n "${router:-}" ]; then
      while route del default gw 0.0.0.0 dev "$interface" 2>/dev/null; do :; done
      for gateway in $router; do route add default gw "$gateway" dev "$interface"; break; done
    fi
    : > /etc/resolv.conf
    for server in ${dns:-}; do echo "nameserver $server" >> /etc/resolv.conf; done
    ;;
esac
EOF
chmod 0755 "$tree/etc/udhcpc.script"
cat >"$tree/init" <<EOF
#!/bin/busybox sh
# The tiny guest's init: basics, modules, network, then the Bivouac agent. PID 1 never exits.
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
for module in $modules; do modprobe "\$module" 2>/dev/null; done
hostname tiny
ifconfig lo 127.0.0.1 up
ifconfig eth0 up 2>/dev/null && udhcpc -q -n -t 10 -T 1 -i eth0 -s /etc/udhcpc.script >/dev/null 2>&1
echo "bivouac-tiny: up, eth0 \$(ifconfig eth0 2>/dev/null | sed -n 's/.*inet addr:\([0-9.]*\).*/\1/p')" > /dev/console
# The agent's output goes to the serial console, which the box keeps as the console log.
(while :; do bivouac-agent run; code=\$?; echo "bivouac-tiny: agent exited with \$code" ; [ \$code -eq 3 ] && break; sleep 5; done) </dev/null >/dev/console 2>&1 &
while :; do wait; sleep 3600; done
EOF
chmod 0755 "$tree/init"

# Reproducible archive: fixed times and owners, sorted names, no gzip timestamp.
find "$tree" -exec touch -h -d @0 {} +
(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0) | gzip -n -9 >"$work/initrd.gz"
touch -d @0 "$work/vmlinux" "$work/initrd.gz"

mkdir -p "$out"
mv "$work/vmlinux" "$work/initrd.gz" "$out/"
printf '%s\n' "$cmdline" >"$out/cmdline"
sum() { sha256sum "$out/$1" | cut -d' ' -f1; }
cat >"$out/image.json" <<EOF
{ "name": "tiny", "kind": "kernel", "kernel": "vmlinux", "initrd": "initrd.gz", "cmdline": "$cmdline",
  "sha256": { "kernel": "$(sum vmlinux)", "initrd": "$(sum initrd.gz)" },
  "description": "Tiny guest: busybox and the Bivouac agent on Debian's $release kernel (96 MiB RAM is enough)" }
EOF
echo "$key" >"$out/.key"
say "built $(du -h "$out/initrd.gz" | cut -f1) initrd and $(du -h "$out/vmlinux" | cut -f1) kernel in $out"
echo "$out"

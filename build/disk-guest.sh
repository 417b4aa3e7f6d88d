#!/usr/bin/env bash
# Builds the disk guest: the tiny guest on a small qcow2 disk that boots by itself, for the tests
# and benchmarks that launch VMs from a disk image (a qcow2 overlay, a NoCloud seed, disk XML) as
# the box does for Debian or Ubuntu cloud images. Seconds from what tiny-guest.sh has built, and
# byte-reproducible and cached: a second run with the same tiny guest, the same versions of the
# tools whose output is in the image (syslinux, mtools, qemu-img, cpio, gzip) and the same script
# does nothing.
#
#   build/disk-guest.sh [OUT_DIR [TINY_DIR]]
#
# OUT_DIR is build/out/disk-guest by default; it is printed on the last line. TINY_DIR names a
# tiny guest the caller has just built (the tests' global setup); without it, tiny-guest.sh runs.
#
# OUT_DIR then holds `disk.qcow2`: one FAT file system over the whole disk with SYSLINUX in its
# boot sector, Debian's kernel (the bzImage tiny's vmlinux comes from) and an initrd made from
# tiny's: the same busybox and modules, less the Bivouac agent and qemu_fw_cfg, with another
# /init. That init behaves as cloud-init does in a cloud image, for the part Bivouac's seed uses:
# it finds the CD-ROM labelled cidata, takes the host name from meta-data, writes the files of
# user-data's write_files (the context, the agent, its systemd unit) and starts the units written
# under /etc/systemd/system as `systemctl enable --now` would. So the agent and its context reach
# this guest only through the seed: a seed that is missing, unreadable or wrong leaves it idle.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(realpath -m "${1:-build/out/disk-guest}")
cmdline='console=ttyS0 quiet panic=-1'
# tiny's modules without qemu_fw_cfg: the context must come from the seed.
modules='virtio_pci virtio_net virtio_blk virtio_console isofs sr_mod ata_piix ahci evdev button'

say() { echo "disk-guest: $*" >&2; }
for tool in syslinux mformat mcopy qemu-img cpio; do
  command -v "$tool" >/dev/null || { say "$tool is missing (build/install-system-deps.sh installs it)"; exit 1; }
done

if [ -n "${2:-}" ]; then tiny=$(realpath "$2"); else tiny=$(bash build/tiny-guest.sh | tail -n 1); fi
[ -f "$tiny/.key" ] && [ -f "$tiny/initrd.gz" ] || { say "no tiny guest in $tiny"; exit 1; }
# Every package whose output is in the image: another version of one may write other bytes.
versions=$(for package in syslinux mtools qemu-utils cpio gzip; do
  echo "$package=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || echo unknown)"
done)
key=$(printf '%s\n' "tiny=$(cat "$tiny/.key")" "$versions" "$cmdline" "$modules" | cat - "$0" | sha256sum | cut -d' ' -f1)
if [ -f "$out/disk.qcow2" ] && [ "$(cat "$out/.key" 2>/dev/null)" = "$key" ]; then
  say "up to date"
  echo "$out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# tiny's initrd, less the agent and fw_cfg, with this guest's /init.
tree="$work/tree"
mkdir -p "$tree"
gzip -dc "$tiny/initrd.gz" | (cd "$tree" && cpio -id --quiet)
release=$(ls "$tree/lib/modules")
rm -f "$tree/usr/bin/bivouac-agent"
find "$tree/lib/modules" -name 'qemu_fw_cfg.ko*' -delete
"$tree/bin/busybox" depmod -b "$tree" "$release"
cat >"$tree/init" <<'EOF'
#!/bin/busybox sh
# The disk guest's init: basics, modules, network, then what the NoCloud seed asks for (the part
# cloud-init would do in a cloud image: host name, write_files, the systemd units it wrote).
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
for module in @MODULES@; do modprobe "$module" 2>/dev/null; done
say() { echo "bivouac-disk: $*" > /dev/console; }
hostname disk
ifconfig lo 127.0.0.1 up
ifconfig eth0 up 2>/dev/null && udhcpc -q -n -t 10 -T 1 -i eth0 -s /etc/udhcpc.script >/dev/null 2>&1
say "up, eth0 $(ifconfig eth0 2>/dev/null | sed -n 's/.*inet addr:\([0-9.]*\).*/\1/p')"

# The seed: the file system labelled cidata (either case), as NoCloud finds it. Device nodes of
# the CD-ROM may appear a moment after its module loads.
seed=/run/cidata
mkdir -p "$seed"
found=
for attempt in $(seq 1 50); do
  device=$(findfs LABEL=cidata 2>/dev/null || findfs LABEL=CIDATA 2>/dev/null) &&
    mount -t iso9660 -o ro "$device" "$seed" 2>/dev/null && found=$device && break
  sleep 0.2
done
if [ -z "$found" ]; then
  say "no NoCloud seed (no file system labelled cidata)"
elif ! head -n 1 "$seed/user-data" 2>/dev/null | grep -q '^#cloud-config'; then
  say "the seed on $found has no #cloud-config user-data"
else
  name=$(sed -n 's/^local-hostname: *//p' "$seed/meta-data")
  [ -n "$name" ] && hostname "$name"
  say "seed on $found: instance $(sed -n 's/^instance-id: *//p' "$seed/meta-data"), host $name"
  # write_files: the subset of YAML Bivouac's seed is written in (list items of path,
  # permissions, encoding and content, a plain or quoted scalar or a | / |- block).
  files=/run/cidata-files
  mkdir -p "$files"
  awk -v dir="$files" '
    function unquote(value) {
      if (value ~ /^".*"$/ || value ~ /^\047.*\047$/) return substr(value, 2, length(value) - 2)
      return value
    }
    {
      line = $0
      if (block) {
        if (line ~ /^ *$/) { pending = pending "\n"; next }
        match(line, /^ */)
        if (!blockIndent) blockIndent = RLENGTH
        if (RLENGTH >= blockIndent && RLENGTH > keyIndent) { content[n] = content[n] pending substr(line, blockIndent + 1) "\n"; pending = ""; next }
        block = 0
      }
      if (line ~ /^[^ ]/) { inWriteFiles = (line ~ /^write_files:/); next }
      if (!inWriteFiles) next
      if (line ~ /^ *- /) { n++; sub(/- /, "  ", line) }
      if (!match(line, /^ *[a-z_]+:/)) next
      match(line, /^ */); keyIndent = RLENGTH
      key = substr(line, keyIndent + 1); sub(/:.*/, "", key)
      value = line; sub(/^ *[a-z_]+: */, "", value)
      if (key == "content" && value ~ /^\|/) { block = 1; blockIndent = 0; pending = ""; strip[n] = (value ~ /-/); content[n] = ""; next }
      if (key == "content") content[n] = unquote(value) "\n"
      else field[n, key] = unquote(value)
    }
    END {
      for (i = 1; i <= n; i++) {
        text = content[i]
        if (strip[i]) sub(/\n$/, "", text)
        printf "%s", text > (dir "/" i)
        close(dir "/" i)
        print i "\t" field[i, "path"] "\t" field[i, "permissions"] "\t" field[i, "encoding"]
      }
    }' "$seed/user-data" > "$files/list"
  while IFS="$(printf '\t')" read -r index path permissions encoding; do
    [ -n "$path" ] || continue
    mkdir -p "$(dirname "$path")"
    case $encoding in
      b64|base64) base64 -d < "$files/$index" > "$path" ;;
      *) cat "$files/$index" > "$path" ;;
    esac
    [ -n "$permissions" ] && chmod "$permissions" "$path"
    say "wrote $path"
  done < "$files/list"
  rm -rf "$files"
  umount "$seed"
fi

# The units write_files put under /etc/systemd/system, started as `systemctl enable --now`
# would: their Environment=, their ExecStart=, restarted after 5 s unless the exit code is the
# one RestartPreventExitStatus= names. Their output goes to the serial console (the console log).
for unit in /etc/systemd/system/*.service; do
  [ -f "$unit" ] || continue
  (
    for assignment in $(sed -n 's/^Environment=//p' "$unit"); do export "$assignment"; done
    command=$(sed -n 's/^ExecStart=//p' "$unit" | head -n 1)
    prevent=$(sed -n 's/^RestartPreventExitStatus=//p' "$unit" | head -n 1)
    while :; do
      $command; code=$?
      echo "bivouac-disk: $(basename "$unit") exited with $code"
      [ "$code" = "$prevent" ] && break
      sleep 5
    done
  ) </dev/null >/dev/console 2>&1 &
done
while :; do wait; sleep 3600; done
EOF
sed -i "s/@MODULES@/$modules/" "$tree/init"
chmod 0755 "$tree/init"
find "$tree" -exec touch -h -d @0 {} +
(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0) | gzip -n -9 >"$work/initrd.gz"

# The kernel tiny's vmlinux was taken from, as the bzImage a boot loader loads.
debs="$root/build/out/debs"
deb=$(ls "$debs/linux-image-${release}_"*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  (cd "$debs" && apt-get download -q "linux-image-$release" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  deb=$(ls "$debs/linux-image-${release}_"*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || { say "could not download linux-image-$release"; exit 1; }
fi
# tar stops once it has the file, so dpkg-deb's broken pipe is expected.
{ dpkg-deb --fsys-tarfile "$deb" 2>/dev/null || true; } | tar -x -C "$work" --occurrence=1 "./boot/vmlinuz-$release"
mv "$work/boot/vmlinuz-$release" "$work/vmlinuz"

# One FAT file system over the whole disk, SYSLINUX in its boot sector (SeaBIOS boots it as it
# would a USB stick without partitions). Times (mtools and so syslinux's installer honour
# SOURCE_DATE_EPOCH) and the volume serial are fixed.
cat >"$work/syslinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $cmdline
EOF
export SOURCE_DATE_EPOCH=315532800 TZ=UTC # 1980-01-01, the first time FAT can hold
touch -d @$SOURCE_DATE_EPOCH "$work/vmlinuz" "$work/initrd.gz" "$work/syslinux.cfg"
raw="$work/disk.raw"
truncate -s 32M "$raw"
mformat -i "$raw" -T 65536 -h 64 -s 32 -N 0 -v BIVOUAC ::
mcopy -m -i "$raw" "$work/vmlinuz" "$work/initrd.gz" "$work/syslinux.cfg" ::/
syslinux --install "$raw"
qemu-img convert -q -f raw -O qcow2 "$raw" "$work/disk.qcow2"

mkdir -p "$out"
mv "$work/disk.qcow2" "$out/disk.qcow2"
echo "$key" >"$out/.key"
say "built $(du -h "$out/disk.qcow2" | cut -f1) disk (kernel $release) in $out"
echo "$out"

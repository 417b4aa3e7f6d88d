#!/usr/bin/env bash
# Makes sure the box's hypervisor daemon answers at qemu:///system. With systemd, the packaged
# service is started. Without it (containers, CI machines) libvirtd is started here, as root,
# under `tini -s` (a subreaper, so QEMU children are reaped at once and a destroy takes 0.2 s
# instead of 1.5 s), after the qemu.conf settings such a daemon needs. QEMU itself runs as the
# libvirt-qemu user, not root: libvirt's DAC driver gives it each VM's files (disks, backing
# images, kernel, initrd, seed) for the VM's life and takes them back after. No MAC driver
# (AppArmor, SELinux) is there to lean on in a container, so none is asked for.
# Prints "qemu:///system" when the daemon answers; exits 1 (saying why) when it cannot.
set -euo pipefail

answers() { timeout 10 virsh -q -c qemu:///system uri >/dev/null 2>&1; }
say() { echo "libvirtd: $*" >&2; }
with_systemd() { [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }
# Without systemd neither a socket file nor a process name proves virtlogd serves: a socket left
# by a daemon that was killed (a machine restored from a snapshot, a container restarted) refuses
# connections, and a killed daemon may linger as a zombie. So it is asked.
virtlogd_runs() { with_systemd || timeout 5 virt-admin -q -c virtlogd:///system version >/dev/null 2>&1; }

if answers && virtlogd_runs; then echo qemu:///system; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then say "qemu:///system (libvirtd and virtlogd) is not running and only root can start it"; exit 1; fi
# Callers may run at once (test files in parallel): one starts the daemons, the others wait.
# The lock's descriptor is closed for the daemons, so they do not hold it after this exits.
exec 9>/run/bivouac-libvirtd.lock
flock -w 50 9 || { say "another start of libvirtd holds /run/bivouac-libvirtd.lock"; exit 1; }
if answers && virtlogd_runs; then echo qemu:///system; exit 0; fi
command -v libvirtd >/dev/null || { say "libvirtd is not installed (build/install-system-deps.sh installs it)"; exit 1; }

if with_systemd; then
  systemctl start libvirtd.service || say "systemctl start libvirtd failed"
else
  # libvirt 9 resolves this user before it reads qemu.conf; QEMU runs as it.
  id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
  # What udev would do: /dev/kvm belongs to the kvm group. Left root-only, libvirt finds QEMU's
  # user unable to open it, judges its cached capabilities stale and probes QEMU again on every
  # call (about 16 s before each VM starts under TCG).
  if [ -e /dev/kvm ] && getent group kvm >/dev/null; then chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || say "could not give /dev/kvm to the kvm group"; fi
  # Written once, in a marked block; the block of earlier versions (QEMU as root, no relabelling) goes.
  old_marker='# bivouac: root-run libvirtd without systemd'
  if grep -qF "$old_marker" /etc/libvirt/qemu.conf; then
    sed -i "/^$old_marker\$/,+5d" /etc/libvirt/qemu.conf
  fi
  marker='# bivouac: libvirtd without systemd, QEMU as libvirt-qemu'
  if ! grep -qF "$marker" /etc/libvirt/qemu.conf; then
    printf '\n%s\nuser = "libvirt-qemu"\ngroup = "%s"\ndynamic_ownership = 1\nremember_owner = 0\nsecurity_driver = "none"\n' "$marker" "$(id -gn libvirt-qemu)" >>/etc/libvirt/qemu.conf
  fi
  if ! grep -q '^auth_unix_rw = "none"' /etc/libvirt/libvirtd.conf; then
    printf '\n%s\nauth_unix_rw = "none"\n' "$marker" >>/etc/libvirt/libvirtd.conf
  fi
  mkdir -p /var/log/libvirt /var/lib/libvirt/qemu /run/libvirt
  # Console logs go through virtlogd, which systemd would socket-activate.
  if ! virtlogd_runs; then
    rm -f /run/libvirt/virtlogd-sock /run/libvirt/virtlogd-admin-sock /run/virtlogd.pid
    virtlogd -d </dev/null >>/var/log/libvirt/virtlogd-bivouac.log 2>&1 9>&-
  fi
  # Started as a simple command so no subshell of this script lingers holding its stdout, which
  # a caller reading that output would otherwise wait on for as long as the daemon runs.
  if ! answers; then setsid nohup tini -s -- libvirtd >>/var/log/libvirt/libvirtd-bivouac.log 2>&1 </dev/null 9>&- & fi
fi

for _ in $(seq 1 100); do
  if answers; then echo qemu:///system; exit 0; fi
  sleep 0.1
done
say "libvirtd did not answer at qemu:///system within 10 s; see /var/log/libvirt/libvirtd-bivouac.log"
exit 1

import { access, readFile } from 'node:fs/promises';

/**
 * `auto` picks KVM only where it really works: a local hypervisor, /dev/kvm present and the CPU
 * advertising vmx or svm. libvirt itself advertises kvm even where /dev/kvm belongs to a
 * paravirtual module without those flags, and such domains crawl or abort; TCG is then right.
 */
export async function chooseDomainType(
  wanted: 'auto' | 'kvm' | 'tcg',
  uri: string,
): Promise<'kvm' | 'qemu'> {
  if (wanted === 'kvm') return 'kvm';
  if (wanted === 'tcg') return 'qemu';
  if (!/^qemu:\/\/\/(system|session)$/.test(uri)) return 'qemu';
  try {
    await access('/dev/kvm');
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo) ? 'kvm' : 'qemu';
  } catch {
    return 'qemu';
  }
}

import { describe, expect, it } from 'vitest';
import {
  metadataNamespace,
  readAddress,
  readFiles,
  readOwnership,
} from '../../appliance/src/connectors/libvirt/domain-xml.ts';

/** Domain XML as libvirt hands it back, with the metadata element given. */
function domainWith(metadata: string): string {
  return `<domain type='qemu'>
  <name>bvc-a-web-1</name>
  <metadata>${metadata}</metadata>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/bivouac/vms/a/overlay.qcow2'/></disk>
    <interface type='network'><source network='bvn-0123456789a'/></interface>
    <serial type='pty'><log file='/var/lib/bivouac/vms/a/console.log' append='off'/></serial>
  </devices>
</domain>`;
}

describe('domain XML read back', () => {
  it("finds Bivouac's mark by its namespace, whatever the prefix", () => {
    const xml = domainWith(
      `<b:vm xmlns:b='${metadataNamespace}' run='r1' instance='web' owner='u&amp;1' address='10.201.17.10'/>`,
    );
    expect(readOwnership(xml)).toEqual({ runId: 'r1', instance: 'web', owner: 'u&1' });
    expect(readAddress(xml)).toBe('10.201.17.10');
  });

  it('takes an element of the same name in another namespace for a foreign domain', () => {
    const xml = domainWith(`<x:vm xmlns:x='urn:other' run='r1' instance='web' owner='u1'/>`);
    expect(readOwnership(xml)).toBeNull();
    expect(readAddress(xml)).toBeNull();
  });

  it('lists the files its disks and console log name, and no network', () => {
    expect(readFiles(domainWith(''))).toEqual([
      '/var/lib/bivouac/vms/a/overlay.qcow2',
      '/var/lib/bivouac/vms/a/console.log',
    ]);
  });

  it('refuses XML that is not well formed', () => {
    expect(() => readOwnership('<domain><metadata></domain>')).toThrow();
  });
});

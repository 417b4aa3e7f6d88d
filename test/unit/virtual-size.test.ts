import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { virtualSizeOf } from '../../appliance/src/connectors/libvirt/overlay-disk.ts';

describe("the libvirt connector's reading of a base image's virtual size", () => {
  it('reads it from what qemu-img info says of a real qcow2', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'bivouac-size-'));
    try {
      const image = join(folder, 'base.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '3G']);
      expect(
        virtualSizeOf(
          execFileSync('qemu-img', ['info', '-U', '--output=json', '-f', 'qcow2', image], {
            encoding: 'utf8',
          }),
        ),
      ).toBe(3 * 1024 ** 3);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('has no size for output that is not JSON or does not tell it, instead of throwing or reading NaN', () => {
    expect(virtualSizeOf('qemu-img: warning: something\n{')).toBeNull();
    expect(virtualSizeOf('{"format": "qcow2"}')).toBeNull();
    expect(virtualSizeOf('{"format": "qcow2", "virtual-size": "big"}')).toBeNull();
  });
});

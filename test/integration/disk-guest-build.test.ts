import { execFile } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../fixtures/appliance.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Runs the disk guest's builder into `out` from the checkout's tiny guest; its log (standard error). */
async function build(out: string, path = process.env.PATH ?? '/usr/bin:/bin'): Promise<string> {
  const { stderr } = await promisify(execFile)(
    'bash',
    [join(root, 'build/disk-guest.sh'), out, join(root, 'build/out/tiny')],
    { env: { ...process.env, PATH: path }, maxBuffer: 16 * 1024 * 1024 },
  );
  return stderr;
}

/**
 * The cache of `build/disk-guest.sh`: the image holds what qemu-img, cpio, gzip, syslinux and
 * mtools wrote, so another version of any of them makes a new image.
 */
describe('the disk guest build', () => {
  it.each(['qemu-utils', 'cpio', 'gzip', 'syslinux', 'mtools'])(
    'is built again when %s has another version (dpkg-query a stand-in saying so)',
    async (changed) => {
      const folder = await tempDir('bivouac-disk-guest-');
      onTestFinished(() => rm(folder, { recursive: true, force: true }));
      const out = join(folder, 'out');
      await build(out);
      expect(await build(out)).toMatch(/^disk-guest: up to date\n$/);
      // The stand-in answers for the changed package and asks the real dpkg-query for the rest.
      const bin = join(folder, 'bin');
      await promisify(execFile)('mkdir', [bin]);
      await writeFile(
        join(bin, 'dpkg-query'),
        `#!/bin/sh\nfor last; do :; done\n[ "$last" = ${changed} ] && { printf '99:0-upgraded'; exit 0; }\nexec /usr/bin/dpkg-query "$@"\n`,
      );
      await chmod(join(bin, 'dpkg-query'), 0o755);
      expect(await build(out, `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`)).not.toMatch(
        /up to date/,
      );
    },
    300_000,
  );
});

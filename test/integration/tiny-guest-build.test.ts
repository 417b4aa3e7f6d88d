import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../fixtures/appliance.ts';

const builder = new URL('../../build/tiny-guest.sh', import.meta.url).pathname;

/** Runs the tiny guest's builder into `out`; its log (standard error) and the folder it names. */
async function build(out: string): Promise<{ log: string; printed: string }> {
  const { stdout, stderr } = await promisify(execFile)('bash', [builder, out], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return { log: stderr, printed: stdout.trim().split('\n').at(-1)! };
}

/** Every file of a folder with its SHA-256. */
async function hashes(folder: string): Promise<Record<string, string>> {
  const names = (await readdir(folder)).sort();
  return Object.fromEntries(
    await Promise.all(
      names.map(
        async (name) =>
          [
            name,
            createHash('sha256')
              .update(await readFile(join(folder, name)))
              .digest('hex'),
          ] as const,
      ),
    ),
  );
}

/**
 * The README's promise for `build/tiny-guest.sh`: byte-reproducible, and cached (a second run
 * with the same packages does nothing). The Debian packages it builds from are kept in
 * build/out/debs, so this runs offline once they are there (a first build downloads them).
 */
describe('the tiny guest build', () => {
  it('builds the same bytes into two empty folders, and a second run with the same inputs does nothing', async () => {
    const folders = [await tempDir('bivouac-tiny-a-'), await tempDir('bivouac-tiny-b-')];
    onTestFinished(() =>
      Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))).then(
        () => undefined,
      ),
    );
    const [first, second] = folders.map((folder) => join(folder, 'tiny')) as [string, string];
    const built = await build(first);
    expect(built.log).toMatch(
      /tiny-guest: building from linux-image-\S+ \S+ and busybox-static \S+\n/,
    );
    expect(built.printed).toBe(first);
    expect((await build(second)).log).toMatch(/tiny-guest: building from/);

    const [a, b] = [await hashes(first), await hashes(second)];
    expect(Object.keys(a)).toEqual(['.key', 'cmdline', 'image.json', 'initrd.gz', 'vmlinux']);
    expect(b).toEqual(a);
    // image.json names the files' own checksums, which the appliance checks on import.
    const image = JSON.parse(await readFile(join(first, 'image.json'), 'utf8')) as {
      sha256: { kernel: string; initrd: string };
    };
    expect(image.sha256).toEqual({ kernel: a.vmlinux, initrd: a['initrd.gz'] });

    // Same packages, script and agent: nothing is rebuilt or rewritten.
    const before = await Promise.all(
      ['vmlinux', 'initrd.gz', 'image.json', '.key'].map((name) => stat(join(first, name))),
    );
    const again = await build(first);
    expect(again.log).toMatch(/^tiny-guest: up to date \(linux-image-\S+ \S+, busybox \S+\)\n$/);
    expect(again.printed).toBe(first);
    const after = await Promise.all(
      ['vmlinux', 'initrd.gz', 'image.json', '.key'].map((name) => stat(join(first, name))),
    );
    expect(after.map((file) => [file.ino, file.mtimeMs])).toEqual(
      before.map((file) => [file.ino, file.mtimeMs]),
    );
    expect(await hashes(first)).toEqual(a);
  }, 300_000);
});

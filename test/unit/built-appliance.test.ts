import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleBuildReason } from '../fixtures/built-appliance.ts';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/** A checkout with the appliance's sources and its build, each file written at `times[file]` (s). */
async function checkout(times: Record<string, number>): Promise<string> {
  const at = await mkdtemp(join(tmpdir(), 'bivouac-built-'));
  folders.push(at);
  for (const [file, seconds] of Object.entries(times)) {
    await mkdir(dirname(join(at, file)), { recursive: true });
    await writeFile(join(at, file), '');
    await utimes(join(at, file), seconds, seconds);
  }
  return at;
}

const sources = {
  'appliance/src/app.ts': 1000,
  'package.json': 1000,
  'build/build-appliance.ts': 1000,
};
const built = { 'dist/appliance/src/server.js': 2000, 'dist/appliance/src/cli.js': 2000 };

describe("the appliance build's freshness, which the tests check before starting it", () => {
  it('is fresh when built after its sources, with or without a tiny guest built before it', async () => {
    expect(staleBuildReason('appliance', await checkout({ ...sources, ...built }))).toBeNull();
    expect(
      staleBuildReason(
        'appliance',
        await checkout({ ...sources, ...built, 'build/out/tiny/image.json': 1500 }),
      ),
    ).toBeNull();
  });

  it('is stale once the tiny guest it copies is rebuilt', async () => {
    expect(
      staleBuildReason(
        'appliance',
        await checkout({ ...sources, ...built, 'build/out/tiny/image.json': 3000 }),
      ),
    ).toBe('build/out/tiny/image.json changed after it was built');
  });

  it('is stale when a source changed after it', async () => {
    expect(
      staleBuildReason(
        'appliance',
        await checkout({ ...sources, ...built, 'appliance/src/app.ts': 3000 }),
      ),
    ).toBe('appliance/src/app.ts changed after it was built');
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir, lockHolder } from '../../appliance/src/host/data-dir-lock.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

/** One appliance per data dir: real appliances (the built one), started on one folder. */
describe('the data dir lock', () => {
  const started: ApplianceProcess[] = [];
  afterAll(async () => {
    for (const appliance of started) await appliance.stop();
  });

  it('refuses a second appliance on the same data dir, naming the process that holds it', async () => {
    const dataDir = await tempDir('bivouac-lock-');
    const first = await startAppliance(dataDir);
    started.push(first);
    await expect(startAppliance(dataDir)).rejects.toThrow(
      new RegExp(
        `cannot start: The data dir \\S+ is in use by another appliance \\(process ${first.child.pid}, started [^,]+, at ${first.url.replace(/[.:/]/g, '\\$&')}\\)\\. Stop it first`,
      ),
    );
    // The first is untouched by the attempt.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(await lockHolder(dataDir)).toMatchObject({
      pid: first.child.pid,
      urls: [first.url],
      screenUrl: null,
    });
  });

  it('is freed by the kernel when its holder is killed outright: nothing stale to clear', async () => {
    const dataDir = await tempDir('bivouac-lock-');
    const first = await startAppliance(dataDir);
    expect(await first.stop('SIGKILL')).toBe(null);
    const second = await startAppliance(dataDir);
    started.push(second);
    expect(await lockHolder(dataDir)).toMatchObject({ pid: second.child.pid });
  });

  it('is taken by one of two starts at the same moment', async () => {
    const dataDir = await tempDir('bivouac-lock-');
    const outcomes = await Promise.allSettled([lockDataDir(dataDir), lockDataDir(dataDir)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(refused?.reason).toMatchObject({
      name: 'DataDirInUseError',
      holder: { pid: process.pid, urls: [], screenUrl: null },
    });
    for (const outcome of outcomes)
      if (outcome.status === 'fulfilled') await outcome.value.release();
    const again = await lockDataDir(dataDir);
    await again.release();
  });
});

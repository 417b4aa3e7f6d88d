import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  spawnAppliance,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { seedFinishedRuns } from '../fixtures/finished-runs.ts';

const password = 'archive crash test password';
const seeded = 3000;

/**
 * The built appliance on a store of 3,000 finished runs (copies of a real one, as a box upgraded
 * with years of runs in its main document has them), killed with SIGKILL while its first
 * archiving pass moves them, at chosen points (after one segment, after all segments before the
 * main document's change), then started again: every run is there once, with its log.
 */
describe('the run archive across SIGKILL (the built appliance, on a seeded store)', () => {
  let dataDir: string;
  let ids: string[];
  const running: ApplianceProcess[] = [];

  const segments = async () =>
    (await readdir(join(dataDir, 'archive'))).filter((name) => name.endsWith('.index'));
  const mainRuns = async () =>
    (JSON.parse(await readFile(join(dataDir, 'bivouac.json'), 'utf8')) as { runs: unknown[] }).runs
      .length;

  /** Starts the appliance and kills it once `ready` holds (polled every 2 ms). */
  async function killWhen(ready: () => Promise<boolean>): Promise<void> {
    const appliance = await spawnAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: password });
    running.push(appliance);
    const deadline = Date.now() + 60_000;
    while (!(await ready().catch(() => false))) {
      if (Date.now() > deadline) throw new Error('the kill point was never reached');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await appliance.stop('SIGKILL')).toBeNull();
  }

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-archive-crash-');
    // A first start makes the administrator; the runs are seeded while it is stopped.
    const first = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: password });
    await first.stop();
    ids = await seedFinishedRuns(dataDir, seeded, 30);
  }, 120_000);
  afterAll(async () => {
    for (const appliance of running) await appliance.stop('SIGKILL').catch(() => undefined);
  });

  it('loses and doubles no run when killed part way through archiving, and ends with all of them archived', async () => {
    // Killed once a segment of the six is written (the main document, changed only after the
    // last, still holds every run), then again once half of them are.
    await killWhen(async () => (await segments()).length >= 1);
    expect(await mainRuns()).toBe(seeded);
    await killWhen(async () => (await segments()).length >= 3);
    const partly = await segments();

    const appliance = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: password }, 60_000);
    running.push(appliance);
    const api = await adminApi(() => appliance.url, password);
    // The pass that finishes the move runs before /healthz answers ready: the main document keeps
    // only the runs that ended within the archive age (an hour: about 4 of 100 a day).
    const kept = await mainRuns();
    expect(kept).toBeLessThan(10);
    const counts = (await api('GET', '/runs/counts')).body as { total: number };
    expect(counts.total).toBe(seeded);
    const listed: string[] = [];
    for (let offset = 0; offset < seeded; offset += 200) {
      const page = (await api('GET', `/runs?limit=200&offset=${offset}`)).body as {
        runs: { id: string; archived: boolean }[];
        total: number;
      };
      expect(page.total).toBe(seeded);
      listed.push(...page.runs.filter((run) => run.archived).map((run) => run.id));
      if (offset === 0) expect(page.runs.slice(kept).every((run) => run.archived)).toBe(true);
    }
    expect(listed).toHaveLength(seeded - kept);
    expect(new Set(listed).size).toBe(seeded - kept);
    expect([...listed].sort()).toEqual(ids.slice(0, seeded - kept).sort());
    // Newest first: the seeded runs end oldest first.
    expect(listed[0]).toBe(ids[seeded - kept - 1]);
    const log = (await api('GET', `/runs/${ids[0]}/log`)).body as unknown as unknown[];
    expect(log.length).toBeGreaterThan(0);
    // The segments the killed starts wrote were kept, and no run was written twice.
    const after = await segments();
    expect(after.slice(0, partly.length)).toEqual(partly);
    const written: string[] = [];
    for (const segment of after) {
      const index = JSON.parse(await readFile(join(dataDir, 'archive', segment), 'utf8')) as {
        summary: { id: string };
      }[];
      written.push(...index.map((entry) => entry.summary.id));
    }
    expect(written).toHaveLength(seeded - kept);
    expect(new Set(written).size).toBe(seeded - kept);
  }, 300_000);
});

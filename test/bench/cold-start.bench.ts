/**
 * Cold start of the appliance process: from spawning the built appliance
 * (`dist/appliance/src/server.js`, plain node, as `npm start` runs it) to the first 200 from /healthz.
 * - on a fresh data dir (creates the store and the TLS identity): median of 5, target < 1500 ms;
 * - on an existing data dir (opens, backs up and reads the store): median of 5, for context.
 * /healthz is polled every 25 ms (the process fixture's interval), which bounds the resolution.
 */
import { rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { builtServerEntry, startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { emit, median } from './lib.ts';

// Measured as the box runs it: the built appliance under plain node (npm run build:appliance).
execFileSync(
  process.execPath,
  ['--import', 'tsx', new URL('../../build/build-appliance.ts', import.meta.url).pathname],
  { stdio: 'ignore' },
);

const runs = 5;

/** Milliseconds from spawn to the first healthy answer; stops the process afterwards. */
async function timeStart(dataDir: string): Promise<number> {
  const started = performance.now();
  const appliance = await startAppliance(dataDir, {}, 20_000, builtServerEntry);
  const elapsed = performance.now() - started;
  const code = await appliance.stop();
  if (code !== 0) throw new Error(`appliance stopped with exit code ${code}`);
  return elapsed;
}

const dirs: string[] = [];
try {
  const fresh: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const dataDir = await tempDir('bivouac-bench-start-');
    dirs.push(dataDir);
    fresh.push(await timeStart(dataDir));
  }
  const existing: number[] = [];
  for (let run = 0; run < runs; run += 1) existing.push(await timeStart(dirs[0]!));

  process.stderr.write(
    `fresh: ${fresh.map((ms) => ms.toFixed(0)).join(', ')} ms; existing: ${existing.map((ms) => ms.toFixed(0)).join(', ')} ms\n`,
  );
  emit('cold-start-fresh-data-dir', median(fresh), 'ms', '<1500');
  emit('cold-start-existing-store', median(existing), 'ms', null);
} finally {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}

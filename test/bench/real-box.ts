/**
 * What the benchmarks on real guests share: an in-process appliance made ready to deploy the
 * shipped catalog on the box's daemon, and a wait on the store's state.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupAdmin, type Client, type TestAppliance } from '../fixtures/appliance.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Signs in the administrator, imports the built tiny guest and the shipped apps, and starts orchestrating. */
export async function startWithCatalog(box: TestAppliance, imagesDir: string): Promise<Client> {
  const admin = await setupAdmin(box.app);
  await box.services.images.recover();
  await box.services.apps.recover();
  const shipped = await box.services.images.installBuiltIn(imagesDir);
  if (shipped.failed.length > 0) throw new Error(JSON.stringify(shipped.failed));
  await box.services.apps.installBuiltIn(join(root, 'appliance/apps'));
  await box.services.runs.start();
  await box.services.reconciler.start();
  return admin;
}

/** Waits until `check` holds, looking every 5 ms, or throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A span of the appliance's run timings (`GET /runs/:id/timings`), in its monotonic clock. */
export interface TimedSpan {
  kind: string;
  detail: string;
  startMs: number;
  endMs: number;
  idle: [number, number][];
}

/**
 * Milliseconds of [fromMs, toMs] in which the appliance worked on the run while someone waited
 * on it: the union of its spans (overlapping work counted once), each less its idle parts (a read
 * parked on a value no guest had set yet).
 */
export function busyMs(spans: readonly TimedSpan[], fromMs: number, toMs: number): number {
  const pieces: [number, number][] = [];
  for (const span of spans) {
    let start = span.startMs;
    for (const [idleFrom, idleTo] of [...span.idle].sort((a, b) => a[0] - b[0])) {
      pieces.push([start, Math.min(idleFrom, span.endMs)]);
      start = Math.max(start, idleTo);
    }
    pieces.push([start, span.endMs]);
  }
  const clipped = pieces
    .map(([start, end]): [number, number] => [Math.max(start, fromMs), Math.min(end, toMs)])
    .filter(([start, end]) => end > start);
  clipped.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const [start, end] of clipped) {
    if (end <= reach) continue;
    total += end - Math.max(start, reach);
    reach = end;
  }
  return total;
}

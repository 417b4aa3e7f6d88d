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

import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { prepareRealQemu, type RealQemu } from '../fixtures/real-qemu-setup.ts';
import { shot } from '../fixtures/ui-session.ts';

/**
 * The whole story on the real thing: the appliance as a process on the box's libvirt daemon,
 * the tiny guest it imports at start, a QEMU guest (TCG) running the agent and the app's recipe,
 * and the UI in Chromium: first run → sign in → deploy Hello web from the store → Ready → open
 * its page through the service URL → terminate.
 */

let qemu: RealQemu;
let appliance: ApplianceProcess;
let dataDir: string;
const password = 'correct horse battery staple';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  qemu = prepareRealQemu();
  dataDir = await tempDir('bivouac-e2e-real-');
  appliance = await startAppliance(dataDir, {
    BIVOUAC_LIBVIRT_URI: qemu.uri,
    BIVOUAC_BUILTIN_IMAGES_DIR: qemu.imagesDir,
  });
});
test.afterAll(async () => {
  await appliance?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function bivouacDomains(runId: string): string[] {
  return execFileSync('virsh', ['-q', '-c', qemu.uri, 'list', '--all', '--name'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((name) => name.startsWith(`bvc-${runId.slice(0, 12)}`));
}

test('first run, sign in, deploy Hello web from the store on a real guest, open its page, terminate', async ({
  page,
  context,
}) => {
  test.setTimeout(180_000);
  await page.goto(appliance.url);
  await page.getByLabel('Administrator name').fill('admin');
  await page.getByLabel(/^Password/).fill(password);
  await page.getByLabel(/^Setup code/).fill(appliance.setupCode!);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.getByLabel('Name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Dry run' })).toHaveCount(0); // a real hypervisor

  await page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name: 'App Store' })
    .click();
  await page
    .getByRole('list', { name: 'Apps' })
    .getByRole('link', { name: /Hello web/ })
    .click();
  await page.getByRole('link', { name: 'Deploy' }).click();
  // The appliance imports the tiny guest by itself after it starts; the pre-flight follows.
  await expect(
    page.getByRole('status').filter({ hasText: 'Everything this deploy needs is there.' }),
  ).toBeVisible({ timeout: 60_000 });
  await page.getByLabel(/Greeting/).fill('Hello from a real guest');
  await page.getByRole('button', { name: 'Deploy' }).click();

  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  const runId = new URL(page.url()).pathname.split('/').pop()!;
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Ready', {
    timeout: 120_000,
  });
  await shot(page, 'real-run-ready');

  // The service URL is a link; the page it opens is served by the guest.
  const link = page
    .getByRole('table', { name: 'Nodes and instances' })
    .getByRole('link', { name: /^http:/ });
  const opened = context.waitForEvent('page');
  await link.click();
  const app = await opened;
  // The link names the service host (the box's LAN address), which this machine reaches like any
  // other on the LAN: published ports are DNAT there, and the UI is never served under it.
  await app.waitForLoadState();
  await expect(app.getByRole('heading', { level: 1 })).toHaveText('Hello from a real guest');
  await app.close();

  // The console of the instance streams what the guest printed.
  await page
    .getByRole('table', { name: 'Nodes and instances' })
    .getByRole('button', { name: 'Console of web.1' })
    .click();
  await expect(page.getByText(/running deploy/)).toBeVisible({ timeout: 15_000 });

  await page.getByRole('button', { name: 'Terminate' }).click();
  await page
    .getByRole('dialog', { name: 'Terminate run?' })
    .getByRole('button', { name: 'Terminate' })
    .click();
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Done', { timeout: 30_000 });
  expect(bivouacDomains(runId)).toEqual([]);
  expect(await readdir(join(dataDir, 'vms'))).toEqual([]);
});

import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shot } from '../fixtures/ui-session.ts';
import { accounts, expect, onRealQemu, test } from './fixtures.ts';
import { FirstRunPage } from './page-models/first-run-page.ts';
import { RunPage } from './page-models/run-page.ts';
import { Shell } from './page-models/shell.ts';
import { SignInPage } from './page-models/sign-in-page.ts';

/**
 * The whole story on the real thing: the appliance as a process on the box's libvirt daemon,
 * the tiny guest it imports at start, a QEMU guest (TCG) running the agent and the app's recipe,
 * and the UI in Chromium: first run → sign in → deploy Hello web from the store → Ready → open
 * its page through the service URL → terminate.
 */

test.use({ box: { name: 'real' }, hypervisor: onRealQemu });
test.describe.configure({ mode: 'serial' });

/** The domains of a run on the daemon at `uri`, running or not. */
function bivouacDomains(uri: string, runId: string): string[] {
  return execFileSync('virsh', ['-q', '-c', uri, 'list', '--all', '--name'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((name) => name.startsWith(`bvc-${runId.slice(0, 12)}`));
}

test('first run, sign in, deploy Hello web from the store on a real guest, open its page, terminate', async ({
  page,
  context,
  appliance,
  hypervisor,
}) => {
  test.setTimeout(180_000);
  await page.goto(appliance.url);
  const { username, password } = accounts.admin;
  await new FirstRunPage(page).createAdministrator(username, password, appliance.setupCode!);
  const shell = new Shell(page);
  await shell.signOut();

  await new SignInPage(page).signIn(username, password);
  await expect(shell.sections).toBeVisible();
  await expect(shell.dryRunNotice).toHaveCount(0); // a real hypervisor

  const store = await shell.goToStore();
  const deploy = await (await store.openApp('Hello web')).deploy();
  // The appliance imports the tiny guest by itself after it starts; the pre-flight follows.
  await expect(deploy.readyNotice).toBeVisible({ timeout: 60_000 });
  await deploy.field(/Greeting/).fill('Hello from a real guest');
  await deploy.deploy();

  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  const run = new RunPage(page);
  const runId = run.id;
  await expect(run.state).toHaveText('Ready', { timeout: 120_000 });
  await shot(page, 'real-run-ready');

  // The service URL is a link; the page it opens is served by the guest.
  const opened = context.waitForEvent('page');
  await run.instances.getByRole('link', { name: /^http:/ }).click();
  const app = await opened;
  // The link names the service host (the box's LAN address), which this machine reaches like any
  // other on the LAN: published ports are DNAT there, and the UI is never served under it.
  await app.waitForLoadState();
  await expect(app.getByRole('heading', { level: 1 })).toHaveText('Hello from a real guest');
  await app.close();

  // The console of the instance streams what the guest printed.
  await run.openConsole('web.1');
  await expect(page.getByText(/running deploy/)).toBeVisible({ timeout: 15_000 });

  await run.terminate();
  await expect(run.state).toHaveText('Done', { timeout: 30_000 });
  expect(bivouacDomains(hypervisor.uri, runId)).toEqual([]);
  expect(await readdir(join(appliance.dataDir, 'vms'))).toEqual([]);
});

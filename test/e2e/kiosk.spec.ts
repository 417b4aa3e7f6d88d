import { shot } from '../fixtures/ui-session.ts';
import { accounts, expect, onPrivateLibvirtd, test } from './fixtures.ts';
import { RunPage } from './page-models/run-page.ts';
import { Shell } from './page-models/shell.ts';
import { SignInPage } from './page-models/sign-in-page.ts';
import { StorePage } from './page-models/store-page.ts';

/**
 * Kiosk mode against the real appliance on libvirt's test driver served by a daemon of the
 * file's own: the box's own screen (its local listener) locked to the App Store, deploying
 * from there, and the PIN to leave. The box has the placeholder image, so a deploy can start.
 */

test.use({
  box: {
    name: 'kiosk',
    administrator: 'from the start',
    hasScreen: true,
    hasPlaceholderImage: true,
  },
  hypervisor: onPrivateLibvirtd,
});

test('kiosk mode: only the store with large targets, and the PIN to leave', async ({
  adminPage: page,
  appliance,
}) => {
  const shell = new Shell(page);
  // Signed in elsewhere, a session cannot be locked: only the box's own screen can.
  let kiosk = await shell.goToKiosk();
  await expect(kiosk.onlyBoxScreen).toBeVisible();
  await expect(kiosk.lockButton).toBeDisabled();

  // A browser on the box's screen signs in on the local listener as the box's screen.
  const screenUrl = appliance.screenUrl!;
  await page.goto(screenUrl);
  const { username, password } = accounts.admin;
  await new SignInPage(page).signIn(username, password, { asBoxScreen: true });
  await expect(shell.signOutButton).toBeVisible();
  kiosk = await shell.goToKiosk();
  await expect(kiosk.heading).toBeVisible();
  await expect(kiosk.lockButton).toBeDisabled();
  await kiosk.setPin('2468');
  await expect(kiosk.pinSetNotice).toBeVisible();
  await shot(page, 'kiosk-settings');
  await kiosk.lockButton.click();

  await expect(shell.leaveKioskButton).toBeVisible();
  await expect(shell.sections).toHaveCount(0);
  const store = new StorePage(page);
  await expect(store.heading).toBeVisible();
  const card = store.app('Hello web');
  expect((await card.boundingBox())!.height).toBeGreaterThanOrEqual(60);
  expect((await shell.leaveKioskButton.boundingBox())!.height).toBeGreaterThanOrEqual(60);
  await page.setViewportSize({ width: 1024, height: 600 });
  await shot(page, 'kiosk');

  // A reload, or another address, still shows only the store; the API refuses the rest.
  await page.goto(`${screenUrl}/users`);
  await expect(store.heading).toBeVisible();
  await expect(shell.leaveKioskButton).toBeVisible();
  const { csrfToken } = (await (await page.request.get(`${screenUrl}/api/v1/session`)).json()) as {
    csrfToken: string;
  };
  const refused = await page.request.get(`${screenUrl}/api/v1/users`, {
    headers: { 'x-csrf-token': csrfToken },
  });
  expect(refused.status()).toBe(403);

  // Deploying works in kiosk mode and shows the run's progress, without actions.
  const deploy = await (await store.openApp('Hello web')).deploy();
  await expect(deploy.readyNotice).toBeVisible();
  await deploy.deploy();
  const run = new RunPage(page);
  await expect(run.backToStore).toBeVisible();
  await expect(run.timelineHeading).toBeVisible();
  await expect(run.terminateButton).toHaveCount(0);
  await run.backToStore.click();

  await shell.leaveKioskButton.click();
  await kiosk.unlockWithPad('1357');
  await expect(kiosk.pad.getByRole('alert')).toHaveText('Wrong PIN.');
  await shot(page, 'kiosk-pin');
  await kiosk.unlockWithPin('2468');
  await expect(shell.sections).toBeVisible();
  const users = await shell.goToUsers();
  await expect(users.peopleHeading).toBeVisible();
});

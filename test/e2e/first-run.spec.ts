import { shot } from '../fixtures/ui-session.ts';
import { accounts, expect, test } from './fixtures.ts';
import { FirstRunPage } from './page-models/first-run-page.ts';
import { Shell } from './page-models/shell.ts';
import { SignInPage } from './page-models/sign-in-page.ts';

test.use({ box: { name: 'first-run' } });
test.describe.configure({ mode: 'serial' });

test('first run: create the administrator, see every section, manage users and tokens, sign in as the new user', async ({
  page,
  browser,
  appliance,
}) => {
  await page.goto(appliance.url);
  const firstRun = new FirstRunPage(page);
  await expect(firstRun.welcome).toBeVisible();
  await expect(firstRun.fingerprint).toBeVisible();
  await shot(page, 'first-run');

  // Anywhere but the box's own screen, the first administrator needs the setup code from its log.
  await firstRun.setupCode.fill('AAAA-BBBB-CCCC');
  await firstRun.password.fill(accounts.admin.password);
  await firstRun.createButton.click();
  await expect(page.getByRole('alert')).toContainText('not the setup code');
  await firstRun.setupCode.fill(appliance.setupCode!);

  // A short password is refused with the appliance's own message.
  await firstRun.password.fill('short');
  await firstRun.password.evaluate((input: HTMLInputElement) => input.removeAttribute('minlength'));
  await firstRun.createButton.click();
  await expect(page.getByRole('alert')).toContainText('must be at least 10 characters');

  await firstRun.password.fill(accounts.admin.password);
  await firstRun.createButton.click();
  const shell = new Shell(page);
  await expect(shell.sections).toBeVisible();
  await expect(shell.dryRunNotice).toBeVisible();

  for (const [section, plan] of [
    ['App Store', 'Search apps'],
    ['Dashboard', 'Runs by state'],
    ['Runs', 'No runs yet'],
    ['Modules', 'Projects, images and deployments'],
    ['Clouds', 'This box'],
    ['Box', 'HTTPS certificate SHA-256 fingerprint'],
  ] as const) {
    await shell.section(section).click();
    await expect(shell.heading(section)).toBeVisible();
    await expect(page.locator('main')).toContainText(plan);
    // Named apart from the screenshots each section's own spec takes.
    await shot(page, `section-${section.toLowerCase().replace(' ', '-')}`);
  }
  // An address that is no section's says so, with the navigation still there.
  await page.goto(`${appliance.url}/nowhere`);
  await expect(shell.heading('Not found')).toBeVisible();
  await expect(shell.sections).toBeVisible();

  const users = await shell.goToUsers();
  await expect(users.peopleHeading).toBeVisible();
  await users.addUser('olga', 'olga long password', 'operator');
  await expect(users.user('olga')).toBeVisible();

  // A change made elsewhere arrives over the event stream, without a reload.
  const session = await page.request.get(`${appliance.url}/api/v1/session`);
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  await page.request.post(`${appliance.url}/api/v1/users`, {
    headers: { 'x-csrf-token': csrfToken },
    data: { username: 'vic', password: 'vic long password', role: 'viewer' },
  });
  await expect(users.user('vic')).toBeVisible();
  await shot(page, 'users');

  // Deleting asks first; Cancel keeps the user.
  await users.row(/vic/).getByRole('button', { name: 'Delete' }).click();
  await expect(users.deleteDialog).toBeVisible();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(users.user('vic')).toBeVisible();
  await users.row(/vic/).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
  await expect(users.user('vic')).toHaveCount(0);

  await shell.signOut();
  const signIn = new SignInPage(page);
  await expect(signIn.heading).toBeVisible();
  await signIn.signIn('olga', 'wrong password!');
  await expect(page.getByRole('alert')).toBeVisible();
  await signIn.password.fill('olga long password');
  await signIn.signInButton.click();
  await shell.goToUsers();
  await expect(users.tokensHeading).toBeVisible();
  await expect(users.peopleHeading).toHaveCount(0);

  await users.createToken('laptop cli');
  const token = (await users.newToken.textContent()) ?? '';
  expect(token.length).toBeGreaterThan(20);
  await expect(page.getByText('It is shown only once')).toBeVisible();
  await shot(page, 'tokens');

  // The token works from a script, and is never shown again.
  const context = await browser.newContext();
  const viaToken = await context.request.get(`${appliance.url}/api/v1/session`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(viaToken.status()).toBe(200);
  await context.close();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(users.newToken).toHaveCount(0);
  await page.reload();
  await shell.goToUsers();
  await expect(page.getByText('laptop cli')).toBeVisible();
  await expect(page.getByText(token)).toHaveCount(0);
});

test('keyboard: sections are reachable with Tab and show a visible focus', async ({
  page,
  appliance,
}) => {
  await page.goto(appliance.url);
  const signIn = new SignInPage(page);
  await signIn.name.fill(accounts.admin.username);
  await signIn.password.fill(accounts.admin.password);
  await page.keyboard.press('Enter');
  const shell = new Shell(page);
  await expect(shell.sections).toBeVisible();
  await page.setViewportSize({ width: 1024, height: 600 });
  for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('href', /\/(store|dashboard|runs)$/);
  const outline = await focused.evaluate((element) => getComputedStyle(element).outlineStyle);
  expect(outline).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(shell.heading()).toBeVisible();
  await shot(page, 'small-screen');
});

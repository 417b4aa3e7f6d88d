import { expect, test } from '@playwright/test';
import { rm } from 'node:fs/promises';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { shot } from '../fixtures/ui-session.ts';

let appliance: ApplianceProcess;
let dataDir: string;
const adminPassword = 'correct horse battery staple';

test.beforeAll(async () => {
  dataDir = await tempDir('bivouac-e2e-');
  appliance = await startAppliance(dataDir);
});
test.afterAll(async () => {
  await appliance.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test.describe.configure({ mode: 'serial' });

test('first run: create the administrator, see every section, manage users and tokens, sign in as the new user', async ({
  page,
  browser,
}) => {
  await page.goto(appliance.url);
  await expect(page.getByRole('heading', { name: 'Welcome to Bivouac' })).toBeVisible();
  await expect(page.getByText('HTTPS certificate SHA-256 fingerprint')).toBeVisible();
  await shot(page, 'first-run');

  // Anywhere but the box's own screen, the first administrator needs the setup code from its log.
  const setupCode = page.getByLabel(/^Setup code/);
  await setupCode.fill('AAAA-BBBB-CCCC');
  await page.getByLabel('Password (at least 10 characters)').fill(adminPassword);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('alert')).toContainText('not the setup code');
  await setupCode.fill(appliance.setupCode!);

  // A short password is refused with the appliance's own message.
  await page.getByLabel('Password (at least 10 characters)').fill('short');
  await page
    .getByLabel('Password (at least 10 characters)')
    .evaluate((input: HTMLInputElement) => input.removeAttribute('minlength'));
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('alert')).toContainText('must be at least 10 characters');

  await page.getByLabel('Password (at least 10 characters)').fill(adminPassword);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Dry run' })).toBeVisible();

  for (const [section, plan] of [
    ['App Store', 'Search apps'],
    ['Dashboard', 'Runs by state'],
    ['Runs', 'No runs yet'],
    ['Modules', 'Projects, images and deployments'],
    ['Clouds', 'This box'],
    ['Box', 'HTTPS certificate SHA-256 fingerprint'],
  ] as const) {
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: section })
      .click();
    await expect(page.getByRole('heading', { level: 1, name: section })).toBeVisible();
    await expect(page.locator('main')).toContainText(plan);
    // Named apart from the screenshots each section's own spec takes.
    await shot(page, `section-${section.toLowerCase().replace(' ', '-')}`);
  }
  // An address that is no section's says so, with the navigation still there.
  await page.goto(`${appliance.url}/nowhere`);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();

  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'People on this box' })).toBeVisible();
  const newUser = page.getByRole('form', { name: 'New user' });
  await newUser.getByLabel('Name').fill('olga');
  await newUser.getByLabel('Password').fill('olga long password');
  await newUser.getByLabel('Role').selectOption('operator');
  await newUser.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('cell', { name: 'olga', exact: true })).toBeVisible();

  // A change made elsewhere arrives over the event stream, without a reload.
  const session = await page.request.get(`${appliance.url}/api/v1/session`);
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  await page.request.post(`${appliance.url}/api/v1/users`, {
    headers: { 'x-csrf-token': csrfToken },
    data: { username: 'vic', password: 'vic long password', role: 'viewer' },
  });
  await expect(page.getByRole('cell', { name: 'vic', exact: true })).toBeVisible();
  await shot(page, 'users');

  // Deleting asks first; Cancel keeps the user.
  await page.getByRole('row', { name: /vic/ }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog', { name: 'Delete user?' })).toBeVisible();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('cell', { name: 'vic', exact: true })).toBeVisible();
  await page.getByRole('row', { name: /vic/ }).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
  await expect(page.getByRole('cell', { name: 'vic', exact: true })).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Bivouac' })).toBeVisible();
  await page.getByLabel('Name').fill('olga');
  await page.getByLabel('Password').fill('wrong password!');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await page.getByLabel('Password').fill('olga long password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Your API tokens' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'People on this box' })).toHaveCount(0);

  const tokenForm = page.getByRole('form', { name: 'New API token' });
  await tokenForm.getByLabel('Token name').fill('laptop cli');
  await tokenForm.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').textContent()) ?? '';
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
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await page.reload();
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByText('laptop cli')).toBeVisible();
  await expect(page.getByText(token)).toHaveCount(0);
});

test('keyboard: sections are reachable with Tab and show a visible focus', async ({ page }) => {
  await page.goto(appliance.url);
  await page.getByLabel('Name').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();
  await page.setViewportSize({ width: 1024, height: 600 });
  for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('href', /\/(store|dashboard|runs)$/);
  const outline = await focused.evaluate((element) => getComputedStyle(element).outlineStyle);
  expect(outline).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await shot(page, 'small-screen');
});

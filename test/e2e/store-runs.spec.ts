import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import {
  importPlaceholderImage,
  sessionApi,
  shot,
  signIn as signInAs,
} from '../fixtures/ui-session.ts';
import {
  guestContexts,
  startPrivateLibvirtd,
  type PrivateLibvirtd,
} from '../fixtures/private-libvirtd.ts';

/**
 * The App Store, the runs and kiosk mode against the real appliance on libvirt's test driver,
 * served by a daemon of the test's own so the test can read each VM's agent token from its
 * fw_cfg context file. The test driver runs no guest code: the test plays the guests through the
 * agent API, as test/fixtures/guest-stand-in.ts does in process.
 */

let daemon: PrivateLibvirtd;
let appliance: ApplianceProcess;
/** The appliance's local listener (loopback HTTP), where the box's own screen signs in. */
let screenUrl: string;
let dataDir: string;
let imageDir: string;
const adminPassword = 'correct horse battery staple';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  daemon = await startPrivateLibvirtd();
  dataDir = await tempDir('bivouac-e2e-store-');
  // No image is shipped to this appliance: the test imports a placeholder `tiny` when it needs one.
  imageDir = await tempDir('bivouac-e2e-images-');
  // The box's screen is served as on a box, by the local listener, under another loopback name
  // than the public listener so that their cookies stay apart.
  const localPort = await freePort();
  screenUrl = `http://localhost:${localPort}`;
  appliance = await startAppliance(dataDir, {
    BIVOUAC_LIBVIRT_URI: daemon.uri,
    BIVOUAC_BUILTIN_IMAGES_DIR: join(imageDir, 'none'),
    BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${localPort}`,
  });
});
test.afterAll(async () => {
  await appliance?.stop();
  await daemon?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(imageDir, { recursive: true, force: true });
});

function signIn(page: Page, username = 'admin', password = adminPassword): Promise<void> {
  return signInAs(page, appliance.url, username, password);
}

/** A call to the API with the browser's session (cookie plus CSRF token). */
function api(
  request: APIRequestContext,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  data?: unknown,
): Promise<unknown> {
  return sessionApi(request, appliance.url, method, path, data);
}

/** The agent token of each instance of a run, read from its domain as its guest would. */
async function guestTokens(runId: string): Promise<Map<string, string>> {
  const contexts = await guestContexts(daemon.uri);
  return new Map(
    contexts
      .filter((context) => context.run === runId)
      .map((context) => [context.instance, context.token]),
  );
}

async function agentCall(token: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${appliance.url}/api/v1/agent${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(204);
}

/** Plays every guest of the run through its recipes: it reports Executing, then SendingReports. */
async function playGuests(
  runId: string,
  count: number,
  outputs: Record<string, string> = {},
): Promise<void> {
  let tokens = new Map<string, string>();
  await expect
    .poll(async () => (tokens = await guestTokens(runId)).size, {
      message: 'the run launched its VMs',
    })
    .toBe(count);
  for (const [instance, token] of tokens) {
    for (const [key, value] of Object.entries(outputs))
      await agentCall(token, `/params/${encodeURIComponent(`${instance}:${key}`)}`, { value });
    await agentCall(token, '/complete', { state: 'Executing' });
    await agentCall(token, '/complete', { state: 'SendingReports' });
  }
}

/** A section's link in the navigation. */
const section = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });

const runIdOf = (page: Page): string => new URL(page.url()).pathname.split('/').at(-1)!;

test('the store: the built-in catalog, search, categories and an app page with screenshots', async ({
  page,
}) => {
  await page.goto(appliance.url);
  await page.getByLabel('Administrator name').fill('admin');
  await page.getByLabel('Password (at least 10 characters)').fill(adminPassword);
  await page.getByLabel(/^Setup code/).fill(appliance.setupCode!);
  await page.getByRole('button', { name: 'Create administrator' }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'App Store' })).toBeVisible();
  const apps = page.getByRole('list', { name: 'Apps' }).getByRole('link');
  for (const title of [
    'Hello web',
    'Web + database',
    'Replicated cluster',
    'WordPress',
    'Nextcloud',
  ])
    await expect(apps.filter({ hasText: title })).toBeVisible();
  // Every icon is bundled with its app and served by the box.
  await expect
    .poll(() =>
      page
        .getByRole('list', { name: 'Apps' })
        .locator('img')
        .evaluateAll(
          (images) =>
            images.length === 5 &&
            images.every((image) => (image as HTMLImageElement).naturalWidth > 0),
        ),
    )
    .toBe(true);
  await shot(page, 'store');

  await page.getByLabel('Search apps').fill('mariadb');
  await expect(apps).toHaveCount(1);
  await expect(apps.first()).toContainText('WordPress');
  await page.getByLabel('Search apps').fill('');
  await page
    .getByRole('group', { name: 'Categories' })
    .getByRole('button', { name: 'demo' })
    .click();
  await expect(apps).toHaveCount(3);
  await expect(apps.filter({ hasText: 'WordPress' })).toHaveCount(0);
  await page.getByRole('button', { name: 'All' }).click();
  await expect(apps).toHaveCount(5);

  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'store-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // From the search box, the keyboard reaches the cards, each with a visible focus.
  await page.getByLabel('Search apps').focus();
  for (
    let presses = 0;
    presses < 12 &&
    !(await page.evaluate(() => document.activeElement?.classList.contains('app-card')));
    presses += 1
  ) {
    await page.keyboard.press('Tab');
  }
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('href', /\/store\/[a-z-]+$/);
  expect(await focused.evaluate((element) => getComputedStyle(element).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).not.toHaveText('App Store');
  await page.goBack();

  await apps.filter({ hasText: 'Hello web' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Hello web' })).toBeVisible();
  await expect(page.getByText('serves a page with your greeting')).toBeVisible();
  const screenshot = page.getByRole('img', { name: 'Screenshot 1 of Hello web' });
  await expect(screenshot).toBeVisible();
  expect(
    await screenshot.evaluate((image: HTMLImageElement) => image.naturalWidth),
  ).toBeGreaterThan(0);
  await expect(page.getByText('the tiny guest image is built by')).toBeVisible();
  await shot(page, 'store-app');
});

test('deploy Hello web: pre-flight, an at-once placeholder, the live run page to Ready, the runs list, terminate after confirming', async ({
  page,
}) => {
  await signIn(page);
  await page
    .getByRole('list', { name: 'Apps' })
    .getByRole('link', { name: /Hello web/ })
    .click();
  await page.getByRole('link', { name: 'Deploy' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Deploy Hello web' })).toBeVisible();

  // The base image is missing: the pre-flight says so and what to do, and Deploy waits.
  const preflight = page.locator('.preflight');
  await expect(preflight.getByText('base image tiny is not in the image store')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Deploy' })).toBeDisabled();
  await expect(preflight.getByRole('row', { name: /VMs/ })).toContainText(/VMs\s*1\s*0\s*8/);

  // Imported elsewhere, the pre-flight follows at once over the event stream.
  await importPlaceholderImage(page.request, appliance.url);
  await expect(preflight.getByText('base image tiny is ready')).toBeVisible();
  await expect(
    page.getByRole('status').filter({ hasText: 'Everything this deploy needs is there.' }),
  ).toBeVisible();

  await page.getByLabel('Run title (optional)').fill('Hello from the test');
  await page.getByLabel(/Greeting/).fill('Hi there');
  await shot(page, 'store-deploy');

  // While the deploy is answered, the button is disabled and the run shows as a placeholder.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(
    '**/api/v1/apps/hello-web/deploy',
    async (route) => {
      await held;
      await route.continue();
    },
    { times: 1 },
  );
  await page.getByRole('button', { name: 'Deploy' }).click();
  await expect(page.getByRole('button', { name: 'Deploying…' })).toBeDisabled();
  await section(page, 'Runs').click();
  await expect(page.getByRole('row', { name: /Hello from the test.*Starting…/ })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('button', { name: 'Deploying…' })).toBeDisabled();
  release();

  // The deploy lands on the run page, which then follows the run live.
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Hello from the test' })).toBeVisible();
  const runId = runIdOf(page);
  const instances = page.getByRole('table', { name: 'Nodes and instances' });
  await expect(instances.getByRole('row', { name: /web\.1/ })).toContainText('running');
  await expect(page.getByRole('table', { name: 'Runtime parameters' })).toContainText('Hi there');
  await expect(page.locator('.badge[data-state]').first()).toHaveText(/Executing/);

  await playGuests(runId, 1, { ready: 'true' });
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Ready');
  await expect(
    page.getByRole('list', { name: 'State timeline' }).locator('[aria-current="step"]'),
  ).toContainText('Ready');
  await expect(
    page
      .getByRole('table', { name: 'Runtime parameters' })
      .getByRole('row', { name: /web\.1:ready/ }),
  ).toContainText('true');
  await expect(page.getByRole('list', { name: 'Event log' })).toContainText(
    'Executing → SendingReports',
  );
  await shot(page, 'run');
  await page.setViewportSize({ width: 1024, height: 600 });
  await shot(page, 'run-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });

  // The console of an instance: the test driver keeps none, and the page says the box's reason.
  await instances.getByRole('button', { name: 'Console of web.1' }).click();
  await expect(page.getByRole('heading', { name: 'Console of web.1' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('No console log is kept here for web.1');

  // The runs list: filters by state, text and tag, and follows the run live.
  await section(page, 'Runs').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Runs' })).toBeVisible();
  const row = page.getByRole('row', { name: /Hello from the test/ });
  await expect(row).toContainText('Ready');
  await page.getByLabel('State').selectOption('Done');
  await expect(page.getByText('No run matches these filters.')).toBeVisible();
  await page.getByLabel('State').selectOption('Ready');
  await expect(row).toBeVisible();
  await page.getByLabel('Tag').fill('app:hello-web');
  await page.getByLabel('Tag').press('Enter');
  await expect(row).toBeVisible();
  await page.getByLabel('Text').fill('nothing like it');
  await page.getByLabel('Text').press('Enter');
  await expect(page.getByText('No run matches these filters.')).toBeVisible();
  // The filters are in the address: Back returns to the previous ones, a reload keeps them.
  await expect(page).toHaveURL(/\/runs\?state=Ready&tag=app%3Ahello-web&q=nothing\+like\+it$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/runs\?state=Ready&tag=app%3Ahello-web$/);
  await expect(row).toBeVisible();
  await expect(page.getByLabel('Text')).toHaveValue('');
  await page.reload();
  await expect(page.getByLabel('State')).toHaveValue('Ready');
  await expect(page.getByLabel('Tag')).toHaveValue('app:hello-web');
  await expect(row).toBeVisible();
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page).toHaveURL(/\/runs$/);
  await expect(row).toBeVisible();
  await shot(page, 'runs-list');

  // Terminate asks first; Cancel keeps the run.
  await row.getByRole('link').click();
  await page.getByRole('button', { name: 'Terminate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Terminate run?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Ready');
  await page.getByRole('button', { name: 'Terminate' }).click();
  await dialog.getByRole('button', { name: 'Terminate' }).click();
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Done');
  await expect(page.getByText('The run has ended; nothing is left running.')).toBeVisible();
  expect(await guestTokens(runId)).toHaveProperty('size', 0);
});

test('the cluster: sizes limited to what is left, inline validation, then scale, upgrade and abort from the run page', async ({
  page,
}) => {
  await signIn(page);
  const { user } = (await api(page.request, 'GET', '/session')) as { user: { id: string } };
  await api(page.request, 'PUT', `/users/${user.id}/quota`, { vms: 4 });

  await page.goto(`${appliance.url}/store/cluster/deploy`);
  const members = page.getByLabel('Members');
  await expect(page.getByText('Up to 4 with what is left (4 VMs left).')).toBeVisible();
  await expect(members).toHaveAttribute('max', '4');
  await members.fill('5');
  await expect(page.getByText('At most 4: 4 VMs left.')).toBeVisible();
  await expect(members).toHaveAttribute('aria-invalid', 'true');
  await members.fill('0');
  await expect(page.getByText('Must be at least 1.')).toBeVisible();
  // Left empty, the manifest's default (3) applies: nothing to complain about.
  await members.fill('');
  await expect(page.getByText('Must be at least 1.')).toHaveCount(0);
  await members.fill('2');
  await expect(
    page.getByRole('status').filter({ hasText: 'Everything this deploy needs is there.' }),
  ).toBeVisible();
  await expect(members).toHaveAttribute('aria-invalid', 'false');
  await page.getByRole('button', { name: 'Deploy' }).click();

  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  await expect(
    page.getByRole('heading', { level: 1, name: 'Replicated cluster', exact: true }),
  ).toBeVisible();
  const runId = runIdOf(page);
  await expect(
    page.getByText('Scaling and upgrading are possible once the run is Ready.'),
  ).toBeVisible();
  await playGuests(runId, 2);
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Ready');

  await page.getByLabel('Instances of member').fill('3');
  await page
    .getByRole('form', { name: 'Scale member' })
    .getByRole('button', { name: 'Scale' })
    .click();
  await expect(
    page
      .getByRole('table', { name: 'Nodes and instances' })
      .getByRole('row', { name: /member\.3/ }),
  ).toBeVisible();
  await expect(page.getByRole('list', { name: 'Event log' })).toContainText('member: 2 → 3');

  // Scaling past the quota is refused with the box's own message.
  await page.getByLabel('Instances of member').fill('6');
  await page
    .getByRole('form', { name: 'Scale member' })
    .getByRole('button', { name: 'Scale' })
    .click();
  await expect(page.getByRole('alert')).toContainText('Not enough VMs: your quota allows 4');

  // A newer version of the deployment is offered as an upgrade.
  const { content } = (await api(
    page.request,
    'GET',
    '/modules/version?ref=/apps/cluster/app',
  )) as { content: unknown };
  await api(page.request, 'PUT', '/modules?path=/apps/cluster/app', {
    content,
    message: 'a newer cluster',
  });
  await page.reload();
  await expect(page.getByLabel('Upgrade to')).toHaveValue('2');
  await shot(page, 'run-actions');

  await page.getByRole('button', { name: 'Abort' }).click();
  const dialog = page.getByRole('dialog', { name: 'Abort run?' });
  await expect(dialog.getByRole('button', { name: 'Abort run' })).toBeDisabled();
  await dialog.getByLabel('Reason').fill('field test over');
  await dialog.getByRole('button', { name: 'Abort run' }).click();
  await expect(page.getByRole('note').filter({ hasText: 'field test over' })).toBeVisible();
  await expect(page.locator('.badge[data-state]').first()).toHaveText('Aborted');
  await expect(
    page.getByRole('list', { name: 'State timeline' }).locator('[aria-current="step"]'),
  ).toContainText('Aborted');
  await page.getByRole('button', { name: 'Terminate' }).click();
  await page
    .getByRole('dialog', { name: 'Terminate run?' })
    .getByRole('button', { name: 'Terminate' })
    .click();
  await expect(page.getByText('The run has ended; nothing is left running.')).toBeVisible();
  await api(page.request, 'PUT', `/users/${user.id}/quota`, {});
});

test('a viewer sees the store and their runs, and no action', async ({ page, browser }) => {
  await signIn(page);
  const vera = (await api(page.request, 'POST', '/users', {
    username: 'vera',
    password: 'vera long password',
    role: 'operator',
  })) as { id: string };
  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signIn(viewer, 'vera', 'vera long password');
  const run = (await api(viewer.request, 'POST', '/apps/hello-web/deploy', {
    parameters: {},
    title: 'Hello for Vera',
  })) as { id: string };
  // Vera deployed as an operator, and is a viewer now: she still sees her run, and may only look.
  await api(page.request, 'PATCH', `/users/${vera.id}`, { role: 'viewer' });

  await viewer.goto(`${appliance.url}/runs/${run.id}`);
  await expect(viewer.getByRole('heading', { level: 1, name: 'Hello for Vera' })).toBeVisible();
  await expect(viewer.getByRole('heading', { name: 'State timeline' })).toBeVisible();
  await expect(
    viewer.getByRole('table', { name: 'Nodes and instances' }).getByRole('row', { name: /web\.1/ }),
  ).toBeVisible();
  await expect(viewer.getByRole('heading', { name: 'Actions' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /Terminate|Abort|Scale|Upgrade/ })).toHaveCount(
    0,
  );
  await shot(viewer, 'run-viewer');

  await expect(viewer.getByRole('region', { name: 'Sharing' })).toHaveCount(0);
  await section(viewer, 'Runs').click();
  await expect(viewer.getByRole('row', { name: /Hello for Vera/ })).toBeVisible();
  await expect(viewer.getByRole('row', { name: /Hello from the test/ })).toHaveCount(0);

  // Shared from its run page, the administrator's run shows in the viewer's list at once;
  // unshared, it goes from there at once too.
  const { runs: others } = (await api(page.request, 'GET', '/runs?q=Hello+from+the+test')) as {
    runs: { id: string }[];
  };
  await page.goto(`${appliance.url}/runs/${others[0]!.id}`);
  const sharing = page.getByRole('region', { name: 'Sharing' });
  await expect(sharing).toContainText('Only the owner and administrators have access.');
  await sharing.getByLabel('Who').selectOption({ label: 'Every viewer' });
  await sharing.getByRole('button', { name: 'Add rule' }).click();
  await expect(sharing.getByRole('status')).toHaveText('Sharing saved.');
  await expect(sharing.getByRole('list', { name: 'Access rules' })).toHaveText(
    /Every viewer: view/,
  );
  // Its owner by name, not by id, though a viewer may not list users.
  await expect(
    viewer
      .getByRole('row', { name: /Hello from the test/ })
      .getByRole('cell')
      .nth(3),
  ).toHaveText('admin');
  await sharing.getByRole('button', { name: 'Remove' }).click();
  await expect(sharing).toContainText('Only the owner and administrators have access.');
  await expect(viewer.getByRole('row', { name: /Hello from the test/ })).toHaveCount(0);
  await viewer.goto(`${appliance.url}/store/hello-web`);
  await expect(
    viewer.getByText('Viewers browse the store; deploying needs an operator.'),
  ).toBeVisible();
  await expect(viewer.getByRole('link', { name: 'Deploy' })).toHaveCount(0);
  await context.close();
  await api(page.request, 'POST', `/runs/${run.id}/terminate`);
});

test('kiosk mode: only the store with large targets, and the PIN to leave', async ({ page }) => {
  // Signed in elsewhere, a session cannot be locked: only the box's own screen can.
  await signIn(page);
  await page.getByRole('link', { name: 'Kiosk mode' }).click();
  await expect(page.getByText("Only the box's own screen can be locked")).toBeVisible();
  await expect(
    page.getByRole('button', { name: 'Lock this screen to the App Store' }),
  ).toBeDisabled();

  // A browser on the box's screen signs in on the local listener as the box's screen.
  await page.goto(screenUrl);
  await page.getByLabel('Name').fill('admin');
  await page.getByLabel('Password').fill(adminPassword);
  await page.getByLabel("This is the box's own screen").check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await page.getByRole('link', { name: 'Kiosk mode' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Kiosk mode' })).toBeVisible();
  await expect(
    page.getByRole('button', { name: 'Lock this screen to the App Store' }),
  ).toBeDisabled();
  await page.getByLabel('PIN (4 to 12 digits)').fill('2468');
  await page.getByRole('button', { name: 'Set PIN' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The kiosk PIN is set.' })).toBeVisible();
  await shot(page, 'kiosk-settings');
  await page.getByRole('button', { name: 'Lock this screen to the App Store' }).click();

  await expect(page.getByRole('button', { name: 'Leave kiosk mode' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Sections' })).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1, name: 'App Store' })).toBeVisible();
  const card = page.getByRole('list', { name: 'Apps' }).getByRole('link', { name: /Hello web/ });
  expect((await card.boundingBox())!.height).toBeGreaterThanOrEqual(60);
  expect(
    (await page.getByRole('button', { name: 'Leave kiosk mode' }).boundingBox())!.height,
  ).toBeGreaterThanOrEqual(60);
  await page.setViewportSize({ width: 1024, height: 600 });
  await shot(page, 'kiosk');

  // A reload, or another address, still shows only the store; the API refuses the rest.
  await page.goto(`${screenUrl}/users`);
  await expect(page.getByRole('heading', { level: 1, name: 'App Store' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Leave kiosk mode' })).toBeVisible();
  const { csrfToken } = (await (await page.request.get(`${screenUrl}/api/v1/session`)).json()) as {
    csrfToken: string;
  };
  const refused = await page.request.get(`${screenUrl}/api/v1/users`, {
    headers: { 'x-csrf-token': csrfToken },
  });
  expect(refused.status()).toBe(403);

  // Deploying works in kiosk mode and shows the run's progress, without actions.
  await card.click();
  await page.getByRole('link', { name: 'Deploy' }).click();
  await expect(
    page.getByRole('status').filter({ hasText: 'Everything this deploy needs is there.' }),
  ).toBeVisible();
  await page.getByRole('button', { name: 'Deploy' }).click();
  await expect(page.getByRole('link', { name: '← Back to the store' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'State timeline' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Terminate' })).toHaveCount(0);
  await page.getByRole('link', { name: '← Back to the store' }).click();

  await page.getByRole('button', { name: 'Leave kiosk mode' }).click();
  const pad = page.getByRole('dialog', { name: 'Leave kiosk mode' });
  for (const digit of '1357') await pad.getByRole('button', { name: digit, exact: true }).click();
  await pad.getByRole('button', { name: 'Unlock' }).click();
  await expect(pad.getByRole('alert')).toHaveText('Wrong PIN.');
  await shot(page, 'kiosk-pin');
  await pad.getByLabel('Administrator PIN').fill('2468');
  await pad.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();
  await section(page, 'Users').click();
  await expect(page.getByRole('heading', { name: 'People on this box' })).toBeVisible();
});

import { expect, test, type Page } from '@playwright/test';
import { rm } from 'node:fs/promises';
import type { RouteOutput } from '../../appliance/src/api/contract.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import {
  expectDarkTheme,
  expectFitsSmallScreen,
  importPlaceholderImage,
  sessionApi,
  shot,
  signIn,
} from '../fixtures/ui-session.ts';

/**
 * The Dashboard against the real appliance on libvirt's test driver (served by a daemon of the
 * test's own): capacity as the API reports it, the host's latest sample and its history in uPlot
 * charts, runs by state following the event stream, and the health of the box's cloud.
 */

let daemon: PrivateLibvirtd;
let appliance: ApplianceProcess;
let dataDir: string;
const adminPassword = 'correct horse battery staple';

type Capacity = RouteOutput<'getCapacity'>;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  daemon = await startPrivateLibvirtd();
  dataDir = await tempDir('bivouac-e2e-dashboard-');
  // The administrator exists from the start; no image ships (the test imports a placeholder).
  appliance = await startAppliance(dataDir, {
    BIVOUAC_LIBVIRT_URI: daemon.uri,
    BIVOUAC_ADMIN_PASSWORD: adminPassword,
  });
});
test.afterAll(async () => {
  await appliance?.stop();
  await daemon?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const api = (page: Page, method: 'GET' | 'POST' | 'PUT', path: string, data?: unknown) =>
  sessionApi(page.request, appliance.url, method, path, data);

const panel = (page: Page, name: string) => page.getByRole('region', { name, exact: true });

test('the dashboard: capacity as the API says, host metrics, history by range, runs by state live, cloud health', async ({
  page,
}) => {
  await signIn(page, appliance.url, 'admin', adminPassword);
  await page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name: 'Dashboard' })
    .click();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  // Everything below must arrive without the page being loaded again.
  await page.evaluate(() => Object.assign(window, { isSamePage: true }));

  // Capacity: each meter carries the API's figures.
  const capacity = (await api(page, 'GET', '/capacity')) as Capacity;
  const capacityPanel = panel(page, 'Capacity');
  const vms = capacityPanel.getByRole('meter', { name: 'VMs' });
  await expect(vms).toHaveAttribute('aria-valuemax', String(capacity.box.vms.total));
  await expect(vms).toHaveAttribute('aria-valuenow', '0');
  await expect(vms).toHaveAttribute(
    'aria-valuetext',
    `0 used, 0 reserved, ${capacity.box.vms.free} free of ${capacity.box.vms.total}`,
  );
  await expect(capacityPanel).toContainText(
    `${capacity.box.vms.free} free of ${capacity.box.vms.total}`,
  );
  for (const [name, resource] of [
    ['vCPUs', 'vcpu'],
    ['Memory', 'memoryMiB'],
    ['Disk', 'diskGiB'],
  ] as const) {
    const total = capacity.box[resource].total;
    if (total === null)
      await expect(capacityPanel).toContainText(`${name} 0 used, 0 reserved, no limit of its own`);
    else
      await expect(capacityPanel.getByRole('meter', { name })).toHaveAttribute(
        'aria-valuemax',
        String(total),
      );
  }
  await expect(capacityPanel.getByRole('table')).toContainText('By user');
  await expect(capacityPanel.getByRole('row', { name: /^admin/ })).toBeVisible();

  // The host's latest sample, and a newer one as soon as the box takes it (every 10 s).
  const host = panel(page, 'Host');
  const sample = (await api(page, 'GET', '/box/metrics')) as RouteOutput<'boxMetrics'>;
  expect(sample.memory).not.toBeNull();
  await expect(host.getByRole('meter', { name: 'Memory' })).toHaveAttribute(
    'aria-valuemax',
    String(sample.memory!.totalBytes),
  );
  if (sample.disk)
    await expect(host.getByRole('meter', { name: `Disk (${sample.disk.mount})` })).toHaveAttribute(
      'aria-valuemax',
      String(sample.disk.totalBytes),
    );
  await expect(host.getByRole('meter', { name: 'CPU' })).toHaveCount(
    sample.cpuPercent === null ? 0 : 1,
  );
  await expect(host.getByText('Temperature')).toHaveCount(
    sample.temperatureCelsius === null ? 0 : 1,
  );
  const measured = host.locator('time');
  const firstTime = await measured.getAttribute('datetime');
  await expect
    .poll(() => measured.getAttribute('datetime'), {
      timeout: 25_000,
      message: 'a new sample shows',
    })
    .not.toBe(firstTime);

  // History: a uPlot canvas for the last hour, then other ranges at their own resolutions.
  const history = panel(page, 'History');
  await expect(history.getByRole('button', { name: 'Hour' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(history.locator('canvas').first()).toBeVisible();
  await expect(history.locator('figcaption')).toContainText('CPU over the last hour: latest');
  // New samples (a new 10 s period each) reach the same chart: it is not made again, its canvas stays.
  await history
    .locator('canvas')
    .first()
    .evaluate((canvas) => Object.assign(canvas, { isFirstChart: true }));
  for (let reloads = 0; reloads < 2; reloads += 1)
    await page.waitForResponse((response) => /\/api\/v1\/history\?/.test(response.url()), {
      timeout: 25_000,
    });
  await expect(history.locator('figcaption')).toContainText('CPU over the last hour: latest');
  expect(
    await history
      .locator('canvas')
      .first()
      .evaluate((canvas) => (canvas as unknown as { isFirstChart?: boolean }).isFirstChart),
  ).toBe(true);
  const dayAsked = page.waitForRequest((request) =>
    /\/api\/v1\/history\?.*resolution=1m/.test(request.url()),
  );
  await history.getByRole('button', { name: 'Day' }).click();
  await dayAsked;
  await expect(history.getByRole('button', { name: 'Day' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(history.locator('figcaption')).toContainText('CPU over the last day');
  await expect(history.locator('canvas').first()).toBeVisible();
  // By keyboard, with a visible focus: from Week to Month, then Enter.
  await history.getByRole('button', { name: 'Week' }).focus();
  await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveText('Month');
  expect(await focused.evaluate((element) => getComputedStyle(element).outlineStyle)).toBe('solid');
  const monthAsked = page.waitForRequest((request) => /resolution=15m/.test(request.url()));
  await page.keyboard.press('Enter');
  await monthAsked;
  await expect(history.getByRole('button', { name: 'Month' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(history.locator('canvas').first()).toBeVisible();
  await history.getByRole('button', { name: 'Hour' }).click();
  // A metric with nothing measured says so instead of drawing an empty chart: a host without a
  // temperature sensor (the box's sample says null) shows the message, one with a sensor a chart.
  await history.getByLabel('Metric').selectOption({ label: 'Temperature' });
  const hasSensor = sample.temperatureCelsius !== null;
  await expect(history.locator('figcaption')).toHaveCount(hasSensor ? 1 : 0);
  await expect(history.getByText('No samples yet')).toHaveCount(hasSensor ? 0 : 1);
  await expect(history.locator('canvas')).toHaveCount(hasSensor ? 1 : 0);
  await history.getByLabel('Metric').selectOption({ label: 'Memory in use' });
  await expect(history.locator('figcaption')).toContainText('Memory in use over the last hour');
  await expect(history.locator('canvas').first()).toBeVisible();

  // Cloud health: the box's own hypervisor, reachable, with its latency.
  const clouds = (await api(page, 'GET', '/clouds')) as RouteOutput<'listClouds'>;
  const box = clouds.find((cloud) => cloud.builtIn)!;
  const cloudHealth = panel(page, 'Cloud health');
  const boxRow = cloudHealth.getByRole('row', { name: new RegExp(`^${box.name}`) });
  await expect(boxRow).toContainText('Reachable');
  await expect(boxRow).toContainText(/\d+(\.\d+)? ms/);
  await expect(cloudHealth.getByRole('link', { name: 'Clouds' })).toHaveAttribute(
    'href',
    '/clouds',
  );

  await shot(page, 'dashboard');
  await expectDarkTheme(page);
  await expect(history.locator('canvas').first()).toBeVisible();
  await shot(page, 'dashboard-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expectFitsSmallScreen(page);
  await expect(history.locator('canvas').first()).toBeVisible();
  await shot(page, 'dashboard-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Runs by state: a deploy made elsewhere shows up, and its end too, without a reload.
  const runs = panel(page, 'Runs by state');
  await expect(runs.getByText('No runs yet.')).toBeVisible();
  await expect(runs.getByRole('link', { name: 'Executing: 0 runs' })).toBeVisible();
  await importPlaceholderImage(page.request, appliance.url);
  await expect
    .poll(
      async () =>
        ((await api(page, 'GET', '/images')) as { name: string; status: string }[]).find(
          (image) => image.name === 'tiny',
        )?.status,
    )
    .toBe('ready');
  const run = (await api(page, 'POST', '/apps/hello-web/deploy', {
    title: 'Counted',
    parameters: {},
  })) as { id: string };
  await expect(runs.getByText('1 run in all.')).toBeVisible();
  // On the test driver no guest reports, so the run waits in Executing.
  await expect
    .poll(async () => ((await api(page, 'GET', `/runs/${run.id}`)) as { state: string }).state)
    .toBe('Executing');
  await expect(runs.getByRole('link', { name: 'Executing: 1 run' })).toBeVisible();
  const held = (await api(page, 'GET', '/capacity')) as Capacity;
  expect(held.box.vms.used + held.box.vms.reserved).toBe(1);
  await expect(vms).toHaveAttribute('aria-valuenow', '1');

  await api(page, 'POST', `/runs/${run.id}/terminate`);
  await expect(runs.getByRole('link', { name: 'Done: 1 run' })).toBeVisible();
  await expect(runs.getByRole('link', { name: 'Executing: 0 runs' })).toBeVisible();
  await expect(vms).toHaveAttribute('aria-valuenow', '0');
  expect(
    await page.evaluate(() => (window as unknown as { isSamePage?: boolean }).isSamePage),
  ).toBe(true);

  // A count opens the Runs list filtered by its state.
  await runs.getByRole('link', { name: 'Done: 1 run' }).click();
  await expect(page).toHaveURL(/\/runs\?state=Done$/);
  await expect(page.getByRole('combobox', { name: 'State', exact: true })).toHaveValue('Done');
  await expect(page.getByRole('row', { name: /Counted/ })).toContainText('Done');
});

test('an operator sees the box and only their own share of it', async ({ page, browser }) => {
  await signIn(page, appliance.url, 'admin', adminPassword);
  await api(page, 'POST', '/users', {
    username: 'olga',
    password: 'olga long password',
    role: 'operator',
  });
  const context = await browser.newContext();
  const operator = await context.newPage();
  await signIn(operator, appliance.url, 'olga', 'olga long password');
  await operator.goto(`${appliance.url}/dashboard`);
  const capacityPanel = panel(operator, 'Capacity');
  await expect(capacityPanel.getByRole('meter', { name: 'VMs' })).toBeVisible();
  const table = capacityPanel.getByRole('table');
  await expect(table).toContainText('Yours');
  await expect(table.getByRole('row', { name: /^olga/ })).toBeVisible();
  await expect(table.getByRole('row', { name: /^admin/ })).toHaveCount(0);
  const runs = panel(operator, 'Runs by state');
  await expect(runs.getByRole('link', { name: 'Done: 0 runs' })).toBeVisible();
  await expect(runs).toContainText('Counting only your runs and those shared with you.');
  await context.close();
});

test("after a user switch on the same screen nothing of the previous user's shows, not even for a moment", async ({
  page,
}) => {
  await signIn(page, appliance.url, 'admin', adminPassword);
  await api(page, 'POST', '/users', {
    username: 'oscar',
    password: 'oscar long password',
    role: 'operator',
  });
  await api(page, 'PUT', '/modules?path=/admin-only', {
    content: { kind: 'project' },
    message: 'private to the administrator',
  });
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await nav.getByRole('link', { name: 'Dashboard' }).click();
  await expect(
    panel(page, 'Capacity')
      .getByRole('table')
      .getByRole('row', { name: /^admin/ }),
  ).toBeVisible();
  await nav.getByRole('link', { name: 'Modules' }).click();
  const tree = page.getByRole('tree', { name: 'Modules' });
  await expect(tree.getByRole('treeitem', { name: /^admin-only/ })).toBeVisible();

  // From now on, every row or tree item the screen adds is noted: none may be the administrator's.
  await page.evaluate(() => {
    const seen: string[] = [];
    Object.assign(window, { adminOnlySeen: seen });
    new MutationObserver(() => {
      for (const row of document.querySelectorAll('.capacity-users tbody th'))
        if (row.textContent === 'admin') seen.push('capacity row of admin');
      for (const item of document.querySelectorAll('[role="treeitem"]'))
        if (item.textContent?.includes('admin-only')) seen.push('module admin-only');
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Sign out' }).click();
  // The same page, no reload: the next person signs in on the shared screen.
  const login = page.getByRole('form', { name: 'Sign in to Bivouac' });
  await expect(login).toBeVisible();
  await login.getByLabel('Name').fill('oscar');
  await login.getByLabel('Password').fill('oscar long password');
  await login.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('oscar (operator)')).toBeVisible();
  // Oscar's own tree (the shipped apps everyone may view) once it has loaded.
  await expect(tree.getByRole('treeitem', { name: 'apps, project' })).toBeVisible();
  await expect(tree.getByRole('treeitem', { name: /^admin-only/ })).toHaveCount(0);
  await nav.getByRole('link', { name: 'Dashboard' }).click();
  const table = panel(page, 'Capacity').getByRole('table');
  await expect(table.getByRole('row', { name: /^oscar/ })).toBeVisible();
  await expect(table.getByRole('row', { name: /^admin/ })).toHaveCount(0);
  expect(
    await page.evaluate(() => (window as unknown as { adminOnlySeen: string[] }).adminOnlySeen),
  ).toEqual([]);
});

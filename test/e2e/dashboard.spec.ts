import type { RouteOutput } from '../../appliance/src/api/contract.ts';
import {
  expectDarkTheme,
  expectFitsSmallScreen,
  importPlaceholderImage,
  sessionApi,
  shot,
  signIn,
} from '../fixtures/ui-session.ts';
import { expect, onPrivateLibvirtd, test } from './fixtures.ts';
import { DashboardPage } from './page-models/dashboard-page.ts';
import { RunsPage } from './page-models/runs-page.ts';
import { Shell } from './page-models/shell.ts';
import { SignInPage } from './page-models/sign-in-page.ts';

/**
 * The Dashboard against the real appliance on libvirt's test driver (served by a daemon of the
 * file's own): capacity as the API reports it, the host's latest sample and its history in uPlot
 * charts, runs by state following the event stream, and the health of the box's cloud.
 */

// The administrator exists from the start; no image ships (the test imports a placeholder).
test.use({
  box: { name: 'dashboard', administrator: 'from the start' },
  hypervisor: onPrivateLibvirtd,
});
test.describe.configure({ mode: 'serial' });

type Capacity = RouteOutput<'getCapacity'>;

test('the dashboard: capacity as the API says, host metrics, history by range, runs by state live, cloud health', async ({
  adminPage: page,
  appliance,
}) => {
  // A call to the API with the page's own session.
  const api = (method: 'GET' | 'POST', path: string, data?: unknown) =>
    sessionApi(page.request, appliance.url, method, path, data);
  const dashboard = await new Shell(page).goToDashboard();
  await expect(dashboard.heading).toBeVisible();
  // Everything below must arrive without the page being loaded again.
  await page.evaluate(() => Object.assign(window, { isSamePage: true }));

  // Capacity: each meter carries the API's figures.
  const capacity = (await api('GET', '/capacity')) as Capacity;
  const capacityPanel = dashboard.capacity;
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
  const host = dashboard.host;
  const sample = (await api('GET', '/box/metrics')) as RouteOutput<'boxMetrics'>;
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
  const { chart, chartCaption } = dashboard;
  await expect(dashboard.range('Hour')).toHaveAttribute('aria-pressed', 'true');
  await expect(chart).toBeVisible();
  await expect(chartCaption).toContainText('CPU over the last hour: latest');
  // New samples (a new 10 s period each) reach the same chart: it is not made again, its canvas stays.
  await chart.evaluate((canvas) => Object.assign(canvas, { isFirstChart: true }));
  for (let reloads = 0; reloads < 2; reloads += 1)
    await page.waitForResponse((response) => /\/api\/v1\/history\?/.test(response.url()), {
      timeout: 25_000,
    });
  await expect(chartCaption).toContainText('CPU over the last hour: latest');
  expect(
    await chart.evaluate(
      (canvas) => (canvas as unknown as { isFirstChart?: boolean }).isFirstChart,
    ),
  ).toBe(true);
  const dayAsked = page.waitForRequest((request) =>
    /\/api\/v1\/history\?.*resolution=1m/.test(request.url()),
  );
  await dashboard.range('Day').click();
  await dayAsked;
  await expect(dashboard.range('Day')).toHaveAttribute('aria-pressed', 'true');
  await expect(chartCaption).toContainText('CPU over the last day');
  await expect(chart).toBeVisible();
  // By keyboard, with a visible focus: from Week to Month, then Enter.
  await dashboard.range('Week').focus();
  await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveText('Month');
  expect(await focused.evaluate((element) => getComputedStyle(element).outlineStyle)).toBe('solid');
  const monthAsked = page.waitForRequest((request) => /resolution=15m/.test(request.url()));
  await page.keyboard.press('Enter');
  await monthAsked;
  await expect(dashboard.range('Month')).toHaveAttribute('aria-pressed', 'true');
  await expect(chart).toBeVisible();
  await dashboard.range('Hour').click();
  // A metric with nothing measured says so instead of drawing an empty chart: a host without a
  // temperature sensor (the box's sample says null) shows the message, one with a sensor a chart.
  await dashboard.metric.selectOption({ label: 'Temperature' });
  const hasSensor = sample.temperatureCelsius !== null;
  await expect(chartCaption).toHaveCount(hasSensor ? 1 : 0);
  await expect(dashboard.history.getByText('No samples yet')).toHaveCount(hasSensor ? 0 : 1);
  await expect(dashboard.history.locator('canvas')).toHaveCount(hasSensor ? 1 : 0);
  await dashboard.metric.selectOption({ label: 'Memory in use' });
  await expect(chartCaption).toContainText('Memory in use over the last hour');
  await expect(chart).toBeVisible();

  // Cloud health: the box's own hypervisor, reachable, with its latency.
  const clouds = (await api('GET', '/clouds')) as RouteOutput<'listClouds'>;
  const box = clouds.find((cloud) => cloud.builtIn)!;
  const boxRow = dashboard.cloudHealth.getByRole('row', { name: new RegExp(`^${box.name}`) });
  await expect(boxRow).toContainText('Reachable');
  await expect(boxRow).toContainText(/\d+(\.\d+)? ms/);
  await expect(dashboard.cloudHealth.getByRole('link', { name: 'Clouds' })).toHaveAttribute(
    'href',
    '/clouds',
  );

  await shot(page, 'dashboard');
  await expectDarkTheme(page);
  await expect(chart).toBeVisible();
  await shot(page, 'dashboard-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expectFitsSmallScreen(page);
  await expect(chart).toBeVisible();
  await shot(page, 'dashboard-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Runs by state: a deploy made elsewhere shows up, and its end too, without a reload.
  await expect(dashboard.runsByState.getByText('No runs yet.')).toBeVisible();
  await expect(dashboard.runCount('Executing: 0 runs')).toBeVisible();
  await importPlaceholderImage(page.request, appliance.url);
  await expect
    .poll(
      async () =>
        (
          (await api('GET', '/images')) as {
            name: string;
            status: string;
          }[]
        ).find((image) => image.name === 'tiny')?.status,
    )
    .toBe('ready');
  const run = (await api('POST', '/apps/hello-web/deploy', {
    title: 'Counted',
    parameters: {},
  })) as { id: string };
  await expect(dashboard.runsByState.getByText('1 run in all.')).toBeVisible();
  // On the test driver no guest reports, so the run waits in Executing.
  await expect
    .poll(async () => ((await api('GET', `/runs/${run.id}`)) as { state: string }).state)
    .toBe('Executing');
  await expect(dashboard.runCount('Executing: 1 run')).toBeVisible();
  const held = (await api('GET', '/capacity')) as Capacity;
  expect(held.box.vms.used + held.box.vms.reserved).toBe(1);
  await expect(vms).toHaveAttribute('aria-valuenow', '1');

  await api('POST', `/runs/${run.id}/terminate`);
  await expect(dashboard.runCount('Done: 1 run')).toBeVisible();
  await expect(dashboard.runCount('Executing: 0 runs')).toBeVisible();
  await expect(vms).toHaveAttribute('aria-valuenow', '0');
  expect(
    await page.evaluate(() => (window as unknown as { isSamePage?: boolean }).isSamePage),
  ).toBe(true);

  // A count opens the Runs list filtered by its state.
  await dashboard.runCount('Done: 1 run').click();
  await expect(page).toHaveURL(/\/runs\?state=Done$/);
  const runs = new RunsPage(page);
  await expect(runs.stateFilter).toHaveValue('Done');
  await expect(runs.row(/Counted/)).toContainText('Done');
});

test('an operator sees the box and only their own share of it', async ({
  adminPage: page,
  appliance,
  browser,
}) => {
  await sessionApi(page.request, appliance.url, 'POST', '/users', {
    username: 'olga',
    password: 'olga long password',
    role: 'operator',
  });
  const context = await browser.newContext();
  const operator = await context.newPage();
  await signIn(operator, appliance.url, 'olga', 'olga long password');
  await operator.goto(`${appliance.url}/dashboard`);
  const dashboard = new DashboardPage(operator);
  await expect(dashboard.capacity.getByRole('meter', { name: 'VMs' })).toBeVisible();
  await expect(dashboard.capacity.getByRole('table')).toContainText('Yours');
  await expect(dashboard.capacityRow('olga')).toBeVisible();
  await expect(dashboard.capacityRow('admin')).toHaveCount(0);
  await expect(dashboard.runCount('Done: 0 runs')).toBeVisible();
  await expect(dashboard.runsByState).toContainText(
    'Counting only your runs and those shared with you.',
  );
  await context.close();
});

test("after a user switch on the same screen nothing of the previous user's shows, not even for a moment", async ({
  adminPage: page,
  appliance,
}) => {
  await sessionApi(page.request, appliance.url, 'POST', '/users', {
    username: 'oscar',
    password: 'oscar long password',
    role: 'operator',
  });
  await sessionApi(page.request, appliance.url, 'PUT', '/modules?path=/admin-only', {
    content: { kind: 'project' },
    message: 'private to the administrator',
  });
  const shell = new Shell(page);
  const dashboard = await shell.goToDashboard();
  await expect(dashboard.capacityRow('admin')).toBeVisible();
  const modules = await shell.goToModules();
  const adminOnly = modules.tree.getByRole('treeitem', { name: /^admin-only/ });
  await expect(adminOnly).toBeVisible();

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
  await shell.signOut();
  // The same page, no reload: the next person signs in on the shared screen.
  const login = new SignInPage(page);
  await expect(login.form).toBeVisible();
  await login.signIn('oscar', 'oscar long password');
  await expect(page.getByText('oscar (operator)')).toBeVisible();
  // Oscar's own tree (the shipped apps everyone may view) once it has loaded.
  await expect(modules.treeItem('apps', 'project')).toBeVisible();
  await expect(adminOnly).toHaveCount(0);
  await shell.goToDashboard();
  await expect(dashboard.capacityRow('oscar')).toBeVisible();
  await expect(dashboard.capacityRow('admin')).toHaveCount(0);
  expect(
    await page.evaluate(() => (window as unknown as { adminOnlySeen: string[] }).adminOnlySeen),
  ).toEqual([]);
});

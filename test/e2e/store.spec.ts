import { importPlaceholderImage, shot } from '../fixtures/ui-session.ts';
import { accounts, expect, onPrivateLibvirtd, test } from './fixtures.ts';
import { FirstRunPage } from './page-models/first-run-page.ts';
import { RunPage } from './page-models/run-page.ts';
import { Shell } from './page-models/shell.ts';
import { StorePage } from './page-models/store-page.ts';

/**
 * The App Store and a deploy from it, against the real appliance on libvirt's test driver served
 * by a daemon of the file's own, so that the test reads each VM's agent token from its fw_cfg
 * context file and plays the guests through the agent API (the test driver runs no guest code).
 * The box starts without an administrator: the first test makes one.
 */

test.use({ box: { name: 'store' }, hypervisor: onPrivateLibvirtd });
test.describe.configure({ mode: 'serial' });

test('the store: the built-in catalog, search, categories and an app page with screenshots', async ({
  page,
  appliance,
}) => {
  await page.goto(appliance.url);
  const { username, password } = accounts.admin;
  await new FirstRunPage(page).createAdministrator(username, password, appliance.setupCode!);

  const store = new StorePage(page);
  await expect(store.heading).toBeVisible();
  for (const title of [
    'Hello web',
    'Web + database',
    'Replicated cluster',
    'WordPress',
    'Nextcloud',
  ])
    await expect(store.app(title)).toBeVisible();
  // Every icon is bundled with its app and served by the box.
  await expect
    .poll(() =>
      store.appList
        .locator('img')
        .evaluateAll(
          (images) =>
            images.length === 5 &&
            images.every((image) => (image as HTMLImageElement).naturalWidth > 0),
        ),
    )
    .toBe(true);
  await shot(page, 'store');

  await store.search.fill('mariadb');
  await expect(store.apps).toHaveCount(1);
  await expect(store.apps.first()).toContainText('WordPress');
  await store.search.fill('');
  await store.showCategory('demo');
  await expect(store.apps).toHaveCount(3);
  await expect(store.app('WordPress')).toHaveCount(0);
  await store.allButton.click();
  await expect(store.apps).toHaveCount(5);

  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'store-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // From the search box, the keyboard reaches the cards, each with a visible focus.
  await store.search.focus();
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
  await expect(new Shell(page).heading()).not.toHaveText('App Store');
  await page.goBack();

  const app = await store.openApp('Hello web');
  await expect(app.heading('Hello web')).toBeVisible();
  await expect(page.getByText('serves a page with your greeting')).toBeVisible();
  const screenshot = app.screenshot('Hello web');
  await expect(screenshot).toBeVisible();
  expect(
    await screenshot.evaluate((image: HTMLImageElement) => image.naturalWidth),
  ).toBeGreaterThan(0);
  await expect(page.getByText('the tiny guest image is built by')).toBeVisible();
  await shot(page, 'store-app');
});

test('deploy Hello web: pre-flight, an at-once placeholder, the live run page to Ready, the runs list, terminate after confirming', async ({
  adminPage: page,
  appliance,
  guests,
}) => {
  const shell = new Shell(page);
  const deploy = await (await new StorePage(page).openApp('Hello web')).deploy();
  await expect(shell.heading('Deploy Hello web')).toBeVisible();

  // The base image is missing: the pre-flight says so and what to do, and Deploy waits.
  await expect(
    deploy.preflight.getByText('base image tiny is not in the image store'),
  ).toBeVisible();
  await expect(deploy.deployButton).toBeDisabled();
  await expect(deploy.preflight.getByRole('row', { name: /VMs/ })).toContainText(/VMs\s*1\s*0\s*8/);

  // Imported elsewhere, the pre-flight follows at once over the event stream.
  await importPlaceholderImage(page.request, appliance.url);
  await expect(deploy.preflight.getByText('base image tiny is ready')).toBeVisible();
  await expect(deploy.readyNotice).toBeVisible();

  await deploy.runTitle.fill('Hello from the test');
  await deploy.field(/Greeting/).fill('Hi there');
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
  await deploy.deploy();
  await expect(deploy.deployingButton).toBeDisabled();
  const placeholders = await shell.goToRuns();
  await expect(placeholders.row(/Hello from the test.*Starting…/)).toBeVisible();
  await page.goBack();
  await expect(deploy.deployingButton).toBeDisabled();
  release();

  // The deploy lands on the run page, which then follows the run live.
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  const run = new RunPage(page);
  await expect(run.heading('Hello from the test')).toBeVisible();
  const runId = run.id;
  await expect(run.instance(/web\.1/)).toContainText('running');
  await expect(run.parameters).toContainText('Hi there');
  await expect(run.state).toHaveText(/Executing/);

  await guests.play(runId, 1, { ready: 'true' });
  await expect(run.state).toHaveText('Ready');
  await expect(run.currentStep).toContainText('Ready');
  await expect(run.parameter(/web\.1:ready/)).toContainText('true');
  await expect(run.eventLog).toContainText('Executing → SendingReports');
  await shot(page, 'run');
  await page.setViewportSize({ width: 1024, height: 600 });
  await shot(page, 'run-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });

  // The console of an instance: the test driver keeps none, and the page says the box's reason.
  await run.openConsole('web.1');
  await expect(page.getByRole('heading', { name: 'Console of web.1' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('No console log is kept here for web.1');

  // The runs list: filters by state, text and tag, and follows the run live.
  const runs = await shell.goToRuns();
  await expect(runs.heading).toBeVisible();
  const row = runs.row(/Hello from the test/);
  await expect(row).toContainText('Ready');
  await runs.stateFilter.selectOption('Done');
  await expect(runs.noMatch).toBeVisible();
  await runs.stateFilter.selectOption('Ready');
  await expect(row).toBeVisible();
  await runs.filterByTag('app:hello-web');
  await expect(row).toBeVisible();
  await runs.filterByText('nothing like it');
  await expect(runs.noMatch).toBeVisible();
  // The filters are in the address: Back returns to the previous ones, a reload keeps them.
  await expect(page).toHaveURL(/\/runs\?state=Ready&tag=app%3Ahello-web&q=nothing\+like\+it$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/runs\?state=Ready&tag=app%3Ahello-web$/);
  await expect(row).toBeVisible();
  await expect(runs.textFilter).toHaveValue('');
  await page.reload();
  await expect(runs.stateFilter).toHaveValue('Ready');
  await expect(runs.tagFilter).toHaveValue('app:hello-web');
  await expect(row).toBeVisible();
  await runs.clearButton.click();
  await expect(page).toHaveURL(/\/runs$/);
  await expect(row).toBeVisible();
  await shot(page, 'runs-list');

  // Terminate asks first; Cancel keeps the run.
  await row.getByRole('link').click();
  await run.terminateButton.click();
  await expect(run.terminateDialog).toBeVisible();
  await run.terminateDialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(run.state).toHaveText('Ready');
  await run.terminate();
  await expect(run.state).toHaveText('Done');
  await expect(run.endedNotice).toBeVisible();
  expect(await guests.tokens(runId)).toHaveProperty('size', 0);
});

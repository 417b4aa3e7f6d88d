import { shot } from '../fixtures/ui-session.ts';
import { expect, test } from './fixtures.ts';
import { ModulesPage, PublishPanel } from './page-models/modules-page.ts';
import { Shell } from './page-models/shell.ts';

/**
 * The Modules workspace following changes made elsewhere, against the real appliance (libvirt's
 * test driver; nothing is deployed): a failed lookup tried again on the next module event, a
 * viewer's read-only page, an untouched editor and the sharing list, each updated without a
 * reload. The box holds what modules.spec.ts builds through the page: the project /demo shared
 * with everyone for viewing, the image /demo/web in two versions and the deployment /demo/site.
 */

test.use({
  box: {
    name: 'modules-live',
    administrator: 'from the start',
    hasViewer: true,
    hasPlaceholderImage: true,
  },
});
test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ api }) => {
  const firstRecipe =
    'mkdir -p /srv/www\necho "$greeting" > /srv/www/index.html\nhttpd -p 80 -h /srv/www\n';
  const web = (deploy: string) => ({
    kind: 'image',
    description: 'A tiny web server',
    nativeImages: { libvirt: { imageId: 'tiny' } },
    resources: { memoryMiB: 128 },
    recipes: { deploy },
    inputs: [{ name: 'greeting', type: 'string', description: 'Shown on the page' }],
    outputs: [{ name: 'ready' }],
    ports: [{ name: 'http', port: 80, protocol: 'http' }],
  });
  const site = {
    kind: 'deployment',
    nodes: [
      {
        name: 'web',
        image: '/demo/web',
        mappings: { greeting: { value: 'Hello from the modules test' } },
      },
    ],
  };
  for (const [method, path, body] of [
    ['PUT', '/modules?path=/demo', { content: { kind: 'project' }, message: 'New project' }],
    ['PUT', '/modules/acl?path=/demo', { acl: [{ everyone: true, allow: ['view'] }] }],
    ['PUT', '/modules?path=/demo/web', { content: web(firstRecipe), message: 'first version' }],
    [
      'PUT',
      '/modules?path=/demo/web',
      {
        content: web(`${firstRecipe}bivouac-set "$BIVOUAC_INSTANCE:ready" true`),
        message: 'report ready',
      },
    ],
    ['PUT', '/modules?path=/demo/site', { content: site, message: 'first deployment' }],
  ] as const) {
    const answer = await api(method, path, body);
    expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  }
});

test('publishing waits for the deploy form: a failed lookup is shown and tried again on the next module event', async ({
  adminPage: page,
  appliance,
  api,
}) => {
  // The image lookup fails once (injected: a real box answers it), as a box under strain might.
  let failures = 0;
  await page.route(
    (url) =>
      url.pathname === '/api/v1/modules/version' && url.searchParams.get('ref') === '/demo/web',
    async (route) => {
      if (failures > 0) return route.continue();
      failures += 1;
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'SHUTTING_DOWN', message: 'The box is busy.' } }),
      });
    },
  );
  await page.goto(`${appliance.url}/modules/demo/site?view=publish`);
  const publish = new PublishPanel(page);
  await expect(publish.form.getByRole('alert')).toHaveText('The box is busy.');
  await expect(publish.publishButton).toBeDisabled();
  await expect(publish.form.getByText('No module /demo/web')).toHaveCount(0);

  // Any module event looks the failed reference up again.
  const saved = await api('PUT', '/modules?path=/demo/other', {
    content: { kind: 'project' },
    message: 'a module event',
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  await expect(publish.askedInputs.getByLabel('Ask for web:greeting')).toBeVisible();
  await expect(publish.form.getByRole('alert')).toHaveCount(0);
  await expect(publish.publishButton).toBeEnabled();
  expect(failures).toBe(1);
});

test('a viewer sees the shared modules read only, and a new version arrives live', async ({
  viewerPage: page,
  api,
}) => {
  const modules = await new Shell(page).goToModules();
  await expect(modules.treeItem('demo', 'project')).toBeVisible();
  await expect(modules.newModuleForm).toHaveCount(0);
  await modules.treeItem('demo', 'project').click();
  await modules.treeItem('web', 'image').click();
  await expect(
    page.getByText('Read only: you may view this module but not change it.'),
  ).toBeVisible();
  await expect(modules.saveBar).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: /^Description/ })).toBeDisabled();
  await expect(page.getByLabel('Input 1 name')).toHaveValue('greeting');
  await expect(page.getByLabel('Input 1 name')).toBeDisabled();
  const recipe = modules.recipe('deploy');
  await expect(recipe).toHaveAttribute('contenteditable', 'false');
  await expect(recipe).toContainText('bivouac-set');
  await expect(modules.views.getByRole('link', { name: 'View' })).toBeVisible();
  await expect(modules.views.getByRole('link', { name: 'Publish' })).toHaveCount(0);
  await expect(modules.deleteButton).toHaveCount(0);
  await shot(page, 'modules-viewer');

  // Someone saves version 3 elsewhere: the page follows without a reload.
  const current = await api('GET', '/modules/version?ref=/demo/web');
  const content = current.body!.content as { recipes: Record<string, string> };
  const saved = await api('PUT', '/modules?path=/demo/web', {
    content: { ...content, recipes: { ...content.recipes, report: 'echo done' } },
    message: 'a report recipe',
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  await expect(modules.moduleTitle).toContainText('version 3 of 3');
  await expect(modules.recipe('report')).toContainText('echo done');
  await expect(modules.treeItem('web', 'image')).toContainText('v3');
});

test('an untouched editor follows versions saved elsewhere; a folded recipe mounts its editor when opened', async ({
  adminPage: page,
  appliance,
  api,
}) => {
  await page.goto(`${appliance.url}/modules/demo/web`);
  const modules = new ModulesPage(page);
  const deployRecipe = modules.recipe('deploy');
  await expect(deployRecipe).toContainText('bivouac-set');
  // Only the open recipes (deploy, and report which has a script) have an editor.
  await expect(page.locator('details.recipe[open]')).toHaveCount(2);
  await expect(page.locator('details.recipe .cm-editor')).toHaveCount(2);
  await page.locator('details.recipe').filter({ hasText: 'preInstall' }).locator('summary').click();
  await expect(modules.recipe('preInstall')).toBeVisible();
  await expect(page.locator('details.recipe .cm-editor')).toHaveCount(3);

  // Two versions saved elsewhere: the untouched draft follows both and stays clean.
  const status = modules.saveBar.getByRole('status');
  for (const line of ['echo elsewhere one', 'echo elsewhere two']) {
    const current = await api('GET', '/modules/version?ref=/demo/web');
    const content = current.body!.content as { recipes: Record<string, string> };
    const latest = current.body!.latestVersion as number;
    const saved = await api('PUT', '/modules?path=/demo/web', {
      content: { ...content, recipes: { ...content.recipes, deploy: `${line}\n` } },
      message: line,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await expect(modules.moduleTitle).toContainText(`version ${latest + 1} of ${latest + 1}`);
    await expect(deployRecipe).toHaveText(line);
    await expect(status).toHaveText('');
  }
  await expect(modules.unsavedNotice).toHaveCount(0);
  await expect(page.getByText(/was saved meanwhile/)).toHaveCount(0);
});

test('sharing follows changes made elsewhere, and a change here keeps them', async ({
  adminPage: page,
  appliance,
  api,
}) => {
  await page.goto(`${appliance.url}/modules/demo?view=sharing`);
  const rules = new ModulesPage(page).accessRules;
  await expect(rules).toContainText('Everyone: view');

  // Another administrator lets operators run it: the list shows it without a reload.
  const shared = await api('PUT', '/modules/acl?path=/demo', {
    acl: [
      { everyone: true, allow: ['view'] },
      { role: 'operator', allow: ['view', 'run'] },
    ],
  });
  expect(shared.status, JSON.stringify(shared.body)).toBe(200);
  await expect(rules).toContainText('Every operator: view, run');

  // Removing the everyone rule here keeps the operators' rule made elsewhere.
  await rules
    .getByRole('listitem')
    .filter({ hasText: 'Everyone: view' })
    .getByRole('button', { name: 'Remove' })
    .click();
  await expect(page.getByRole('status').filter({ hasText: 'Sharing saved.' })).toBeVisible();
  await expect(rules.getByRole('listitem')).toHaveCount(1);
  await expect(rules).toContainText('Every operator: view, run');
  const stored = await api('GET', '/modules/version?ref=/demo');
  expect(stored.body!.acl).toEqual([{ role: 'operator', allow: ['view', 'run'] }]);
});

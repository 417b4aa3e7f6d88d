import { expect, test, type Locator, type Page } from '@playwright/test';
import { rm } from 'node:fs/promises';
import { adminApi, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import {
  expectDarkTheme,
  expectFitsSmallScreen,
  importPlaceholderImage,
  sessionApi,
  shot,
  signIn as signInAs,
} from '../fixtures/ui-session.ts';

/**
 * The Modules workspace against the real appliance (libvirt's test driver; nothing is deployed):
 * an administrator builds a project, an image with a recipe typed into the code editor, a
 * deployment checked as it is typed, looks at the history and a diff, publishes to the App Store
 * and takes it out again; a viewer sees the same modules read only.
 */

let appliance: ApplianceProcess;
let dataDir: string;
const adminPassword = 'correct horse battery staple';
const viewerPassword = 'viewer password 123';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  dataDir = await tempDir('bivouac-e2e-modules-');
  appliance = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: adminPassword });
  const api = await adminApi(() => appliance.url, adminPassword);
  const viewer = await api('POST', '/users', {
    username: 'vera',
    password: viewerPassword,
    role: 'viewer',
  });
  expect(viewer.status, JSON.stringify(viewer.body)).toBe(201);
});
test.afterAll(async () => {
  await appliance?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function signIn(page: Page, username: string, password: string): Promise<void> {
  return signInAs(page, appliance.url, username, password);
}

const section = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });
/** The open module's heading: its path, kind and version. */
const moduleTitle = (page: Page) => page.locator('h2#module-title');
/** The open module's Delete button (while no confirmation is open). */
const moduleDelete = (page: Page) => page.getByRole('button', { name: 'Delete', exact: true });
const tree = (page: Page) => page.getByRole('tree', { name: 'Modules' });
const treeItem = (page: Page, name: string, kind: string) =>
  tree(page).getByRole('treeitem', { name: `${name}, ${kind}` });

async function createModule(
  page: Page,
  kind: 'Project' | 'Image' | 'Deployment',
  name: string,
): Promise<void> {
  const form = page.getByRole('form', { name: 'New module' });
  await form.getByLabel('Kind').selectOption(kind);
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Create' }).click();
}

async function saveVersion(page: Page, message: string, version: number): Promise<void> {
  const bar = page.getByRole('form', { name: 'Save a version' });
  await bar.getByLabel('What changed').fill(message);
  await bar.getByRole('button', { name: `Save version ${version}` }).click();
  await expect(bar.getByRole('status')).toHaveText(`✓ Version ${version} saved.`);
}

/** Types into a CodeMirror editor at the end of its text, as a person would. */
async function typeInEditor(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

test('an administrator builds a project, an image with its recipe, versions, a diff and a checked deployment, and publishes it', async ({
  page,
}) => {
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
  });
  await signIn(page, 'admin', adminPassword);
  // A base image to choose (the test driver never boots it).
  await importPlaceholderImage(page.request, appliance.url);
  // The code editor is its own chunk, fetched by the first recipe shown, not by the first screen.
  await expect(page.getByRole('heading', { level: 1, name: 'App Store' })).toBeVisible();
  expect(scripts.filter((script) => script.includes('shell-editor'))).toEqual([]);
  await section(page, 'Modules').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Modules' })).toBeVisible();
  // The catalog shipped with the box installed its modules under /apps.
  await expect(treeItem(page, 'apps', 'project')).toBeVisible();

  // A bad name is refused in the form, before anything is sent.
  await createModule(page, 'Project', 'Demo Project');
  await expect(page.getByText('Use lowercase letters, digits')).toBeVisible();
  await createModule(page, 'Project', 'demo');
  await expect(page).toHaveURL(/\/modules\/demo$/);
  await expect(treeItem(page, 'demo', 'project')).toBeVisible();
  await expect(moduleTitle(page)).toContainText('/demo');

  // Shared with everyone for viewing: the modules made in it start with the same rule.
  await page.getByRole('link', { name: 'Sharing' }).click();
  const addRule = page.getByRole('form', { name: 'Add an access rule' });
  await addRule.getByLabel('Who').selectOption('everyone');
  await addRule.getByRole('button', { name: 'Add rule' }).click();
  await expect(page.getByRole('list', { name: 'Access rules' })).toContainText('Everyone: view');

  // An image: a draft until its first save.
  await createModule(page, 'Image', 'web');
  await expect(page).toHaveURL(/\/modules\/demo\/web\?new=image$/);
  await expect(moduleTitle(page)).toContainText('new, not saved yet');
  await page.getByLabel('Description', { exact: true }).fill('A tiny web server');
  await page.getByLabel('Base image (libvirt)').selectOption('tiny');
  await page.getByLabel('Memory (MiB)').fill('128');
  await page.getByRole('button', { name: 'Add input' }).click();
  // Parameters are checked as they are typed, by the box's own rules: a new input needs a name.
  await expect(
    page.getByRole('group', { name: 'Input 1' }).getByText('must start with a letter'),
  ).toBeVisible();
  await expect(page.getByLabel('Input 1 name')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('Input 1 name').fill('greeting');
  await expect(page.getByLabel('Input 1 name')).toHaveAttribute('aria-invalid', 'false');
  await page.getByLabel('Input 1 description').fill('Shown on the page');
  await page.getByRole('button', { name: 'Add output' }).click();
  await page.getByLabel('Output 1 name').fill('ready');
  await page.getByRole('button', { name: 'Add port' }).click();

  const deployRecipe = page.getByRole('textbox', { name: 'deploy recipe' });
  await expect(deployRecipe).toBeVisible();
  expect(scripts.filter((script) => script.includes('shell-editor'))).toHaveLength(1);
  await typeInEditor(
    page,
    deployRecipe,
    'mkdir -p /srv/www\necho "$greeting" > /srv/www/index.html\nhttpd -p 80 -h /srv/www\n',
  );
  // Shell highlighting: the quoted string and the command are told apart.
  await expect(deployRecipe.locator('.tok-string').first()).toBeVisible();
  await saveVersion(page, 'first version', 1);
  await expect(page).toHaveURL(/\/modules\/demo\/web$/);
  await expect(moduleTitle(page)).toContainText('version 1 of 1');
  await expect(treeItem(page, 'web', 'image')).toContainText('v1');

  await typeInEditor(page, deployRecipe, 'bivouac-set "$BIVOUAC_INSTANCE:ready" true');
  await expect(page.getByText('Unsaved changes.')).toBeVisible();
  await shot(page, 'modules-editor');
  await expectDarkTheme(page);
  await shot(page, 'modules-editor-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await saveVersion(page, 'report ready', 2);
  await expect(treeItem(page, 'web', 'image')).toContainText('v2');
  await expect(deployRecipe).toContainText('bivouac-set "$BIVOUAC_INSTANCE:ready" true');

  // History: both versions with author and message; the diff marks the added line in words too.
  await page.getByRole('link', { name: 'History' }).click();
  const versions = page.getByRole('table', { name: 'Versions' });
  await expect(
    versions.getByRole('row', { name: /Open version 2 admin .*report ready/ }),
  ).toBeVisible();
  await expect(
    versions.getByRole('row', { name: /Open version 1 admin .*first version/ }),
  ).toBeVisible();
  const changes = page.getByRole('list', { name: 'Changes from version 1 to 2' });
  const added = changes.locator('li.diff-added');
  await expect(added.filter({ hasText: 'bivouac-set' })).toHaveCount(1);
  await expect(added.filter({ hasText: 'bivouac-set' })).toContainText('added:');
  await expect(added.filter({ hasText: 'bivouac-set' }).locator('.diff-marker')).toHaveText('+');
  await expect(
    page.getByRole('status').filter({ hasText: /v1 → v2: \d+ lines? added, \d+ removed/ }),
  ).toBeVisible();
  await shot(page, 'modules-history');
  // An older version opens read only.
  await versions.getByRole('link', { name: 'Open version 1' }).click();
  await expect(page.getByText('An older version, read only.')).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'deploy recipe' })).toHaveAttribute(
    'contenteditable',
    'false',
  );
  await expect(page.getByRole('textbox', { name: 'deploy recipe' })).not.toContainText(
    'bivouac-set',
  );

  // The tree by keyboard: one tab stop, arrows move and open, Enter opens the module.
  await treeItem(page, 'demo', 'project').click();
  await expect(page).toHaveURL(/\/modules\/demo$/);
  const demo = treeItem(page, 'demo', 'project');
  await expect(demo).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(demo).toHaveAttribute('aria-expanded', 'false');
  await expect(treeItem(page, 'web', 'image')).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(demo).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(treeItem(page, 'web', 'image')).toBeFocused();
  expect(
    await treeItem(page, 'web', 'image').evaluate(
      (element) => getComputedStyle(element).outlineStyle,
    ),
  ).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/modules\/demo\/web$/);
  await treeItem(page, 'demo', 'project').click();

  // A deployment, checked as it is typed.
  await createModule(page, 'Deployment', 'site');
  await expect(page).toHaveURL(/\/modules\/demo\/site\?new=deployment$/);
  await expect(page.getByText('a deployment needs at least one node')).toBeVisible();
  await page.getByRole('button', { name: 'Add node' }).click();
  const node = page.getByRole('group', { name: /^Node / });
  await node.getByLabel('Name').fill('Web');
  await expect(node.getByText('must start with a lowercase letter')).toBeVisible();
  await expect(node.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await node.getByLabel('Name').fill('web');
  await expect(node.getByLabel('Name')).toHaveAttribute('aria-invalid', 'false');
  await node.getByLabel('Image').fill('/demo/nothing-here');
  await expect(node.getByText('No module /demo/nothing-here.')).toBeVisible();
  await node.getByLabel('Image').fill('/demo/web');
  const inputs = page.getByRole('table', { name: 'Inputs of web' });
  await expect(inputs.getByRole('row', { name: /greeting/ })).toContainText(
    'input greeting of web has no default and must be mapped to an output or a value',
  );
  await expect(
    page.getByRole('status').filter({ hasText: '✗ 1 problem to fix before saving.' }),
  ).toBeVisible();

  // Saved anyway, the box refuses and names the field.
  const bar = page.getByRole('form', { name: 'Save a version' });
  await bar.getByLabel('What changed').fill('first deployment');
  await bar.getByRole('button', { name: 'Save version 1' }).click();
  await expect(
    page.getByRole('alert').filter({ hasText: '/demo/site cannot be saved' }),
  ).toBeVisible();
  await expect(page.getByRole('list', { name: 'Problems the box found' })).toContainText(
    'content.nodes.0.mappings.greeting',
  );

  await inputs.getByLabel('Source of web input greeting').selectOption('value');
  await inputs.getByLabel('Value of web input greeting').fill('Hello from the modules test');
  await expect(
    page
      .getByRole('status')
      .filter({ hasText: '✓ Every node resolves and every input is mapped.' }),
  ).toBeVisible();
  await bar.getByRole('button', { name: 'Save version 1' }).click();
  await expect(bar.getByRole('status')).toHaveText('✓ Version 1 saved.');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(treeItem(page, 'site', 'deployment')).toBeVisible();
  await shot(page, 'modules');
  await expectFitsSmallScreen(page);
  await shot(page, 'modules-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });
  await expectDarkTheme(page);
  await shot(page, 'modules-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Publish to the store, open it there, then take it out again after confirming.
  await page.getByRole('link', { name: 'Publish' }).click();
  const publish = page.getByRole('form', { name: 'Publish a version' });
  await expect(publish.getByLabel('App id')).toHaveValue('site');
  await publish.getByLabel('Title').fill('Demo site');
  await publish.getByLabel('Summary').fill('A page greeting whoever opens it');
  await publish.getByLabel('Categories').fill('demo');
  // The greeting is mapped to a value; the deploy form may ask for it, that value as its default.
  const asked = publish.getByRole('table', { name: 'Inputs the deploy form asks for' });
  await asked.getByLabel('Ask for web:greeting').check();
  await asked.getByLabel('Label of web:greeting').fill('Your greeting');
  // The operator may choose how many web instances, within bounds checked as they are typed by
  // the box's own rules, and web stays on the box.
  const nodes = publish.getByRole('table', { name: 'Nodes: instances and clouds' });
  await nodes.getByLabel('Ask how many (now 1)').check();
  await nodes.getByLabel('At most').fill('0');
  await expect(publish.getByRole('alert', { name: 'Problems with the deploy form' })).toHaveText(
    'web:instances, at most: must be at least the minimum (1)',
  );
  await expect(publish.getByRole('button', { name: 'Publish' })).toBeDisabled();
  await nodes.getByLabel('At most').fill('3');
  await expect(publish.getByRole('alert', { name: 'Problems with the deploy form' })).toHaveCount(
    0,
  );
  await nodes.getByLabel('Where web runs').selectOption({ label: 'The box only' });
  await shot(page, 'modules-publish');
  await publish.getByRole('button', { name: 'Publish' }).click();
  await expect(publish.getByRole('status')).toContainText(
    'Published Demo site 1.0.0 (/demo/site@1)',
  );
  const fromModule = page.getByRole('list', { name: 'Apps from this module' });
  await expect(fromModule.getByRole('link', { name: 'Demo site' })).toBeVisible();
  await publish.getByRole('link', { name: 'Open it in the App Store' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Demo site' })).toBeVisible();
  await page.getByRole('link', { name: 'Deploy' }).click();
  await expect(page.getByLabel(/Your greeting/)).toHaveValue('Hello from the modules test');
  const instances = page.getByLabel(/Web instances/);
  await expect(instances).toHaveValue('1');
  await expect(instances).toHaveAttribute('max', '3');
  const app = (await sessionApi(page.request, appliance.url, 'GET', '/apps/site')) as {
    clouds: Record<string, string>;
  };
  expect(app.clouds).toEqual({ web: 'box' });
  await section(page, 'App Store').click();
  const apps = page.getByRole('list', { name: 'Apps' }).getByRole('link');
  await expect(apps.filter({ hasText: 'Demo site' })).toBeVisible();

  await page.goto(`${appliance.url}/modules/demo/site?view=publish`);
  await expect(fromModule.getByRole('link', { name: 'Demo site' })).toBeVisible();
  await fromModule.getByRole('button', { name: 'Unpublish' }).click();
  const confirm = page.getByRole('dialog', { name: 'Unpublish app?' });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(fromModule.getByRole('link', { name: 'Demo site' })).toBeVisible();
  await fromModule.getByRole('button', { name: 'Unpublish' }).click();
  await confirm.getByRole('button', { name: 'Unpublish' }).click();
  await expect(fromModule).toContainText('site · unpublished');
  await section(page, 'App Store').click();
  await expect(page.getByRole('list', { name: 'Apps' }).getByRole('link').first()).toBeVisible();
  await expect(apps.filter({ hasText: 'Demo site' })).toHaveCount(0);

  // Back on the module later, the unpublished app is still there to publish again.
  await page.goto(`${appliance.url}/modules/demo/site?view=publish`);
  await expect(fromModule).toContainText('site · unpublished');
  await fromModule.getByRole('button', { name: 'Publish again' }).click();
  await expect(fromModule.getByRole('link', { name: 'Demo site' })).toBeVisible();
  await expect(fromModule).not.toContainText('unpublished');
});

test('publishing waits for the deploy form: a failed lookup is shown and tried again on the next module event', async ({
  page,
}) => {
  await signIn(page, 'admin', adminPassword);
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
  const publish = page.getByRole('form', { name: 'Publish a version' });
  await expect(publish.getByRole('alert')).toHaveText('The box is busy.');
  await expect(publish.getByRole('button', { name: 'Publish' })).toBeDisabled();
  await expect(publish.getByText('No module /demo/web')).toHaveCount(0);

  // Any module event looks the failed reference up again.
  const api = await adminApi(() => appliance.url, adminPassword);
  const saved = await api('PUT', '/modules?path=/demo/other', {
    content: { kind: 'project' },
    message: 'a module event',
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const asked = publish.getByRole('table', { name: 'Inputs the deploy form asks for' });
  await expect(asked.getByLabel('Ask for web:greeting')).toBeVisible();
  await expect(publish.getByRole('alert')).toHaveCount(0);
  await expect(publish.getByRole('button', { name: 'Publish' })).toBeEnabled();
  expect(failures).toBe(1);
});

test('delete asks first, and a project still holding modules is refused with the box message', async ({
  page,
}) => {
  await signIn(page, 'admin', adminPassword);
  await page.goto(`${appliance.url}/modules/demo`);
  // Delete acts on the module: a button beside the views, not an entry of their navigation.
  await expect(moduleDelete(page)).toBeVisible();
  await expect(
    page.getByRole('navigation', { name: 'Module views' }).getByRole('button'),
  ).toHaveCount(0);
  await moduleDelete(page).click();
  const confirm = page.getByRole('dialog', { name: 'Delete /demo?' });
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('alert')).toContainText(
    '/demo still holds modules; delete them first.',
  );

  await createModule(page, 'Project', 'scratch');
  await expect(treeItem(page, 'scratch', 'project')).toBeVisible();
  await moduleDelete(page).click();
  await page
    .getByRole('dialog', { name: 'Delete /demo/scratch?' })
    .getByRole('button', { name: 'Cancel' })
    .click();
  await expect(treeItem(page, 'scratch', 'project')).toBeVisible();
  await moduleDelete(page).click();
  await page
    .getByRole('dialog', { name: 'Delete /demo/scratch?' })
    .getByRole('button', { name: 'Delete' })
    .click();
  await expect(page).toHaveURL(/\/modules\/demo$/);
  await expect(treeItem(page, 'scratch', 'project')).toHaveCount(0);
});

test('a project exported as YAML, and modules imported from YAML all or nothing', async ({
  page,
}) => {
  await signIn(page, 'admin', adminPassword);
  await page.goto(`${appliance.url}/modules/demo?view=yaml`);
  const exported = page.getByRole('region', { name: 'Export' }).getByLabel('YAML of /demo');
  await expect(exported).toContainText('path: /demo/web');
  await expect(exported).toContainText('path: /demo/site');
  await expect(page.getByRole('link', { name: 'Download demo.yaml' })).toHaveAttribute(
    'download',
    'demo.yaml',
  );

  const importForm = page.getByRole('form', { name: 'Import' });
  const copy = (name: string, parent: string) =>
    `path: /demo/${name}\ncontent:\n  kind: image\n  parent: ${parent}\n  recipes:\n    deploy: echo copied\n`;
  // One module of the stream names a parent that does not exist: nothing is saved.
  await importForm
    .getByLabel('YAML', { exact: true })
    .fill(`${copy('copied', '/demo/web')}---\n${copy('broken', '/demo/missing')}`);
  await importForm.getByLabel('What changed').fill('copies');
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('alert')).toContainText('No module /demo/missing');
  await expect(treeItem(page, 'copied', 'image')).toHaveCount(0);

  await importForm.getByLabel('YAML', { exact: true }).fill(copy('copied', '/demo/web'));
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('status')).toContainText('Saved 1 module');
  await expect(treeItem(page, 'copied', 'image')).toBeVisible();
  // The export follows the modules it holds, without a reload.
  await expect(exported).toContainText('path: /demo/copied');
  await importForm.getByRole('link', { name: '/demo/copied' }).click();
  await expect(page.getByRole('textbox', { name: 'deploy recipe' })).toContainText('echo copied');
});

test('a viewer sees the shared modules read only, and a new version arrives live', async ({
  page,
}) => {
  await signIn(page, 'vera', viewerPassword);
  await section(page, 'Modules').click();
  await expect(treeItem(page, 'demo', 'project')).toBeVisible();
  await expect(page.getByRole('form', { name: 'New module' })).toHaveCount(0);
  await treeItem(page, 'demo', 'project').click();
  await treeItem(page, 'web', 'image').click();
  await expect(
    page.getByText('Read only: you may view this module but not change it.'),
  ).toBeVisible();
  await expect(page.getByRole('form', { name: 'Save a version' })).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: /^Description/ })).toBeDisabled();
  await expect(page.getByLabel('Input 1 name')).toHaveValue('greeting');
  await expect(page.getByLabel('Input 1 name')).toBeDisabled();
  const recipe = page.getByRole('textbox', { name: 'deploy recipe' });
  await expect(recipe).toHaveAttribute('contenteditable', 'false');
  await expect(recipe).toContainText('bivouac-set');
  const views = page.getByRole('navigation', { name: 'Module views' });
  await expect(views.getByRole('link', { name: 'View' })).toBeVisible();
  await expect(views.getByRole('link', { name: 'Publish' })).toHaveCount(0);
  await expect(moduleDelete(page)).toHaveCount(0);
  await shot(page, 'modules-viewer');

  // Someone saves version 3 elsewhere: the page follows without a reload.
  const api = await adminApi(() => appliance.url, adminPassword);
  const current = await api('GET', '/modules/version?ref=/demo/web');
  const content = current.body!.content as { recipes: Record<string, string> };
  const saved = await api('PUT', '/modules?path=/demo/web', {
    content: { ...content, recipes: { ...content.recipes, report: 'echo done' } },
    message: 'a report recipe',
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  await expect(moduleTitle(page)).toContainText('version 3 of 3');
  await expect(page.getByRole('textbox', { name: 'report recipe' })).toContainText('echo done');
  await expect(treeItem(page, 'web', 'image')).toContainText('v3');
});

test('an untouched editor follows versions saved elsewhere; a folded recipe mounts its editor when opened', async ({
  page,
}) => {
  await signIn(page, 'admin', adminPassword);
  await page.goto(`${appliance.url}/modules/demo/web`);
  const deployRecipe = page.getByRole('textbox', { name: 'deploy recipe' });
  await expect(deployRecipe).toContainText('bivouac-set');
  // Only the open recipes (deploy, and report which has a script) have an editor.
  await expect(page.locator('details.recipe[open]')).toHaveCount(2);
  await expect(page.locator('details.recipe .cm-editor')).toHaveCount(2);
  await page.locator('details.recipe').filter({ hasText: 'preInstall' }).locator('summary').click();
  await expect(page.getByRole('textbox', { name: 'preInstall recipe' })).toBeVisible();
  await expect(page.locator('details.recipe .cm-editor')).toHaveCount(3);

  // Two versions saved elsewhere: the untouched draft follows both and stays clean.
  const api = await adminApi(() => appliance.url, adminPassword);
  const status = page.getByRole('form', { name: 'Save a version' }).getByRole('status');
  for (const line of ['echo elsewhere one', 'echo elsewhere two']) {
    const current = await api('GET', '/modules/version?ref=/demo/web');
    const content = current.body!.content as { recipes: Record<string, string> };
    const latest = current.body!.latestVersion as number;
    const saved = await api('PUT', '/modules?path=/demo/web', {
      content: { ...content, recipes: { ...content.recipes, deploy: `${line}\n` } },
      message: line,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await expect(moduleTitle(page)).toContainText(`version ${latest + 1} of ${latest + 1}`);
    await expect(deployRecipe).toHaveText(line);
    await expect(status).toHaveText('');
  }
  await expect(page.getByText('Unsaved changes.')).toHaveCount(0);
  await expect(page.getByText(/was saved meanwhile/)).toHaveCount(0);
});

test('sharing follows changes made elsewhere, and a change here keeps them', async ({ page }) => {
  await signIn(page, 'admin', adminPassword);
  await page.goto(`${appliance.url}/modules/demo?view=sharing`);
  const rules = page.getByRole('list', { name: 'Access rules' });
  await expect(rules).toContainText('Everyone: view');

  // Another administrator lets operators run it: the list shows it without a reload.
  const api = await adminApi(() => appliance.url, adminPassword);
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

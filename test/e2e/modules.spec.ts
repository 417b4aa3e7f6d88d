import {
  expectDarkTheme,
  expectFitsSmallScreen,
  importPlaceholderImage,
  sessionApi,
  shot,
  signIn,
} from '../fixtures/ui-session.ts';
import { accounts, expect, test } from './fixtures.ts';
import { ModulesPage, PublishPanel } from './page-models/modules-page.ts';
import { Shell } from './page-models/shell.ts';
import { AppPage, StorePage } from './page-models/store-page.ts';

/**
 * The Modules workspace against the real appliance (libvirt's test driver; nothing is deployed):
 * an administrator builds a project, an image with a recipe typed into the code editor, a
 * deployment checked as it is typed, looks at the history and a diff, publishes to the App Store
 * and takes it out again; then deletes, exports and imports modules. How the workspace follows
 * changes made elsewhere is modules-live.spec.ts.
 */

test.use({ box: { name: 'modules', administrator: 'from the start' } });
test.describe.configure({ mode: 'serial' });

test('an administrator builds a project, an image with its recipe, versions, a diff and a checked deployment, and publishes it', async ({
  page,
  appliance,
}) => {
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
  });
  await signIn(page, appliance.url, accounts.admin.username, accounts.admin.password);
  // A base image to choose (the test driver never boots it).
  await importPlaceholderImage(page.request, appliance.url);
  // The code editor is its own chunk, fetched by the first recipe shown, not by the first screen.
  await expect(new StorePage(page).heading).toBeVisible();
  expect(scripts.filter((script) => script.includes('shell-editor'))).toEqual([]);
  const shell = new Shell(page);
  const modules = await shell.goToModules();
  await expect(modules.heading).toBeVisible();
  // The catalog shipped with the box installed its modules under /apps.
  await expect(modules.treeItem('apps', 'project')).toBeVisible();

  // A bad name is refused in the form, before anything is sent.
  await modules.createModule('Project', 'Demo Project');
  await expect(page.getByText('Use lowercase letters, digits')).toBeVisible();
  await modules.createModule('Project', 'demo');
  await expect(page).toHaveURL(/\/modules\/demo$/);
  await expect(modules.treeItem('demo', 'project')).toBeVisible();
  await expect(modules.moduleTitle).toContainText('/demo');

  // Shared with everyone for viewing: the modules made in it start with the same rule.
  await modules.openView('Sharing');
  await modules.addAccessRule('everyone');
  await expect(modules.accessRules).toContainText('Everyone: view');

  // An image: a draft until its first save.
  await modules.createModule('Image', 'web');
  await expect(page).toHaveURL(/\/modules\/demo\/web\?new=image$/);
  await expect(modules.moduleTitle).toContainText('new, not saved yet');
  await page.getByLabel('Description', { exact: true }).fill('A tiny web server');
  await page.getByLabel('Base image (libvirt)').selectOption('tiny');
  await page.getByLabel('Memory (MiB)').fill('128');
  await page.getByRole('button', { name: 'Add input' }).click();
  // Parameters are checked as they are typed, by the box's own rules: a new input needs a name.
  await expect(
    page.getByRole('group', { name: 'Input 1' }).getByText('must start with a letter'),
  ).toBeVisible();
  const inputName = page.getByLabel('Input 1 name');
  await expect(inputName).toHaveAttribute('aria-invalid', 'true');
  await inputName.fill('greeting');
  await expect(inputName).toHaveAttribute('aria-invalid', 'false');
  await page.getByLabel('Input 1 description').fill('Shown on the page');
  await page.getByRole('button', { name: 'Add output' }).click();
  await page.getByLabel('Output 1 name').fill('ready');
  await page.getByRole('button', { name: 'Add port' }).click();

  const deployRecipe = modules.recipe('deploy');
  await expect(deployRecipe).toBeVisible();
  expect(scripts.filter((script) => script.includes('shell-editor'))).toHaveLength(1);
  await modules.typeInEditor(
    deployRecipe,
    'mkdir -p /srv/www\necho "$greeting" > /srv/www/index.html\nhttpd -p 80 -h /srv/www\n',
  );
  // Shell highlighting: the quoted string and the command are told apart.
  await expect(deployRecipe.locator('.tok-string').first()).toBeVisible();
  await modules.saveVersion('first version', 1);
  await expect(page).toHaveURL(/\/modules\/demo\/web$/);
  await expect(modules.moduleTitle).toContainText('version 1 of 1');
  await expect(modules.treeItem('web', 'image')).toContainText('v1');

  await modules.typeInEditor(deployRecipe, 'bivouac-set "$BIVOUAC_INSTANCE:ready" true');
  await expect(modules.unsavedNotice).toBeVisible();
  await shot(page, 'modules-editor');
  await expectDarkTheme(page);
  await shot(page, 'modules-editor-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await modules.saveVersion('report ready', 2);
  await expect(modules.treeItem('web', 'image')).toContainText('v2');
  await expect(deployRecipe).toContainText('bivouac-set "$BIVOUAC_INSTANCE:ready" true');

  // History: both versions with author and message; the diff marks the added line in words too.
  await modules.openView('History');
  const versions = page.getByRole('table', { name: 'Versions' });
  await expect(
    versions.getByRole('row', { name: /Open version 2 admin .*report ready/ }),
  ).toBeVisible();
  await expect(
    versions.getByRole('row', { name: /Open version 1 admin .*first version/ }),
  ).toBeVisible();
  const changes = page.getByRole('list', { name: 'Changes from version 1 to 2' });
  const addedLine = changes.locator('li.diff-added').filter({ hasText: 'bivouac-set' });
  await expect(addedLine).toHaveCount(1);
  await expect(addedLine).toContainText('added:');
  await expect(addedLine.locator('.diff-marker')).toHaveText('+');
  await expect(
    page.getByRole('status').filter({ hasText: /v1 → v2: \d+ lines? added, \d+ removed/ }),
  ).toBeVisible();
  await shot(page, 'modules-history');
  // An older version opens read only.
  await versions.getByRole('link', { name: 'Open version 1' }).click();
  await expect(page.getByText('An older version, read only.')).toBeVisible();
  await expect(deployRecipe).toHaveAttribute('contenteditable', 'false');
  await expect(deployRecipe).not.toContainText('bivouac-set');

  // The tree by keyboard: one tab stop, arrows move and open, Enter opens the module.
  const demo = modules.treeItem('demo', 'project');
  const web = modules.treeItem('web', 'image');
  await demo.click();
  await expect(page).toHaveURL(/\/modules\/demo$/);
  await expect(demo).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(demo).toHaveAttribute('aria-expanded', 'false');
  await expect(web).toHaveCount(0);
  await page.keyboard.press('ArrowRight');
  await expect(demo).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(web).toBeFocused();
  expect(await web.evaluate((element) => getComputedStyle(element).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/modules\/demo\/web$/);
  await demo.click();

  // A deployment, checked as it is typed.
  await modules.createModule('Deployment', 'site');
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
  await modules.saveBar.getByLabel('What changed').fill('first deployment');
  await modules.saveBar.getByRole('button', { name: 'Save version 1' }).click();
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
  await modules.saveVersion('first deployment', 1);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(modules.treeItem('site', 'deployment')).toBeVisible();
  await shot(page, 'modules');
  await expectFitsSmallScreen(page);
  await shot(page, 'modules-small-screen');
  await page.setViewportSize({ width: 1280, height: 800 });
  await expectDarkTheme(page);
  await shot(page, 'modules-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Publish to the store, open it there, then take it out again after confirming.
  await modules.openView('Publish');
  const publish = new PublishPanel(page);
  await expect(publish.form.getByLabel('App id')).toHaveValue('site');
  await publish.form.getByLabel('Title').fill('Demo site');
  await publish.form.getByLabel('Summary').fill('A page greeting whoever opens it');
  await publish.form.getByLabel('Categories').fill('demo');
  // The greeting is mapped to a value; the deploy form may ask for it, that value as its default.
  await publish.askedInputs.getByLabel('Ask for web:greeting').check();
  await publish.askedInputs.getByLabel('Label of web:greeting').fill('Your greeting');
  // The operator may choose how many web instances, within bounds checked as they are typed by
  // the box's own rules, and web stays on the box.
  await publish.nodes.getByLabel('Ask how many (now 1)').check();
  await publish.nodes.getByLabel('At most').fill('0');
  await expect(publish.formProblems).toHaveText(
    'web:instances, at most: must be at least the minimum (1)',
  );
  await expect(publish.publishButton).toBeDisabled();
  await publish.nodes.getByLabel('At most').fill('3');
  await expect(publish.formProblems).toHaveCount(0);
  await publish.nodes.getByLabel('Where web runs').selectOption({ label: 'The box only' });
  await shot(page, 'modules-publish');
  await publish.publishButton.click();
  await expect(publish.form.getByRole('status')).toContainText(
    'Published Demo site 1.0.0 (/demo/site@1)',
  );
  const listed = publish.fromModule.getByRole('link', { name: 'Demo site' });
  await expect(listed).toBeVisible();
  await publish.form.getByRole('link', { name: 'Open it in the App Store' }).click();
  const app = new AppPage(page);
  await expect(app.heading('Demo site')).toBeVisible();
  const deploy = await app.deploy();
  await expect(deploy.field(/Your greeting/)).toHaveValue('Hello from the modules test');
  const instances = deploy.field(/Web instances/);
  await expect(instances).toHaveValue('1');
  await expect(instances).toHaveAttribute('max', '3');
  const published = (await sessionApi(page.request, appliance.url, 'GET', '/apps/site')) as {
    clouds: Record<string, string>;
  };
  expect(published.clouds).toEqual({ web: 'box' });
  const store = await shell.goToStore();
  await expect(store.app('Demo site')).toBeVisible();

  await page.goto(`${appliance.url}/modules/demo/site?view=publish`);
  await expect(listed).toBeVisible();
  await publish.unpublish('Cancel');
  await expect(listed).toBeVisible();
  await publish.unpublish('Unpublish');
  await expect(publish.fromModule).toContainText('site · unpublished');
  await shell.goToStore();
  await expect(store.apps.first()).toBeVisible();
  await expect(store.app('Demo site')).toHaveCount(0);

  // Back on the module later, the unpublished app is still there to publish again.
  await page.goto(`${appliance.url}/modules/demo/site?view=publish`);
  await expect(publish.fromModule).toContainText('site · unpublished');
  await publish.fromModule.getByRole('button', { name: 'Publish again' }).click();
  await expect(listed).toBeVisible();
  await expect(publish.fromModule).not.toContainText('unpublished');
});

test('delete asks first, and a project still holding modules is refused with the box message', async ({
  adminPage: page,
  appliance,
}) => {
  await page.goto(`${appliance.url}/modules/demo`);
  const modules = new ModulesPage(page);
  // Delete acts on the module: a button beside the views, not an entry of their navigation.
  await expect(modules.deleteButton).toBeVisible();
  await expect(modules.views.getByRole('button')).toHaveCount(0);
  await modules.delete('/demo', 'Delete');
  await expect(page.getByRole('alert')).toContainText(
    '/demo still holds modules; delete them first.',
  );

  await modules.createModule('Project', 'scratch');
  const scratch = modules.treeItem('scratch', 'project');
  await expect(scratch).toBeVisible();
  await modules.delete('/demo/scratch', 'Cancel');
  await expect(scratch).toBeVisible();
  await modules.delete('/demo/scratch', 'Delete');
  await expect(page).toHaveURL(/\/modules\/demo$/);
  await expect(scratch).toHaveCount(0);
});

test('a project exported as YAML, and modules imported from YAML all or nothing', async ({
  adminPage: page,
  appliance,
}) => {
  await page.goto(`${appliance.url}/modules/demo?view=yaml`);
  const modules = new ModulesPage(page);
  const exported = page.getByRole('region', { name: 'Export' }).getByLabel('YAML of /demo');
  await expect(exported).toContainText('path: /demo/web');
  await expect(exported).toContainText('path: /demo/site');
  await expect(page.getByRole('link', { name: 'Download demo.yaml' })).toHaveAttribute(
    'download',
    'demo.yaml',
  );

  const importForm = page.getByRole('form', { name: 'Import' });
  const yaml = importForm.getByLabel('YAML', { exact: true });
  const copy = (name: string, parent: string) =>
    `path: /demo/${name}\ncontent:\n  kind: image\n  parent: ${parent}\n  recipes:\n    deploy: echo copied\n`;
  // One module of the stream names a parent that does not exist: nothing is saved.
  await yaml.fill(`${copy('copied', '/demo/web')}---\n${copy('broken', '/demo/missing')}`);
  await importForm.getByLabel('What changed').fill('copies');
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('alert')).toContainText('No module /demo/missing');
  await expect(modules.treeItem('copied', 'image')).toHaveCount(0);

  await yaml.fill(copy('copied', '/demo/web'));
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('status')).toContainText('Saved 1 module');
  await expect(modules.treeItem('copied', 'image')).toBeVisible();
  // The export follows the modules it holds, without a reload.
  await expect(exported).toContainText('path: /demo/copied');
  await importForm.getByRole('link', { name: '/demo/copied' }).click();
  await expect(modules.recipe('deploy')).toContainText('echo copied');
});

import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import {
  adminApi,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { expectDarkTheme, expectFitsSmallScreen, shot, signIn } from '../fixtures/ui-session.ts';

/**
 * The Clouds and Box pages against the real appliance on libvirt's test driver. The appliance
 * runs without power control (as every test appliance does), so a confirmed power off comes
 * back with the appliance's own refusal.
 */

let appliance: ApplianceProcess;
let dataDir: string;
let filesDir: string;
let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
/** For the raw requests adminApi does not make (uploads, an exact refusal). */
let bearer: { authorization: string };
const adminPassword = 'clouds and box admin password';
const viewerPassword = 'clouds and box viewer password';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  dataDir = await tempDir('bivouac-e2e-box-');
  filesDir = await tempDir('bivouac-e2e-box-files-');
  appliance = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: adminPassword });
  api = await adminApi(() => appliance.url, adminPassword);
  bearer = await makeBearer();
  await api('POST', '/users', { username: 'vera', password: viewerPassword, role: 'viewer' });
});
test.afterAll(async () => {
  await appliance?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(filesDir, { recursive: true, force: true });
});

/** The bearer header of the test's administrator token (for requests adminApi does not make). */
async function makeBearer(): Promise<{ authorization: string }> {
  const login = await fetch(`${appliance.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: adminPassword }),
  });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const created = await fetch(`${appliance.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'raw requests' }),
  });
  return { authorization: `Bearer ${((await created.json()) as { token: string }).token}` };
}

const section = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });
const cloudCard = (page: Page, name: string) => page.getByRole('article', { name, exact: true });

/**
 * A real, empty qcow2 disk made by qemu-img (the test driver never boots it), padded to `bytes`
 * long and sparse so that its import takes long enough to show progress.
 */
async function placeholderDisk(name: string, bytes: number): Promise<string> {
  const path = join(filesDir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
  const handle = await open(path, 'r+');
  await handle.truncate(bytes);
  await handle.close();
  return path;
}

test('clouds: an administrator adds a second cloud, tests it, sees it healthy and removes it', async ({
  page,
}) => {
  await signIn(page, appliance.url, 'admin', adminPassword);
  await section(page, 'Clouds').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Clouds' })).toBeVisible();

  const box = cloudCard(page, 'This box');
  await expect(box.getByText('Reachable', { exact: true })).toBeVisible();
  await expect(box.getByText('test:///default')).toBeVisible();
  await expect(box.getByText("The box's own cloud cannot be removed.")).toBeVisible();
  await expect(box.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  // The test driver's own domain is not Bivouac's: it is listed as foreign, once the reconciler has seen it.
  const foreignOnBox = async () =>
    (
      (await api('GET', '/vms')).body as { foreign: { cloudId: string; name: string }[] }
    ).foreign.filter((vm) => vm.cloudId === 'box');
  await expect.poll(async () => (await foreignOnBox()).length).toBeGreaterThan(0);
  for (const foreign of await foreignOnBox())
    await expect(
      box.getByRole('row').filter({ hasText: foreign.name }).getByText('foreign'),
    ).toBeVisible();

  const form = page.getByRole('form', { name: 'Add a remote libvirt host' });
  // Checked as each field is left, before anything is sent, by the appliance's own URI rule: the
  // form says what the appliance would answer.
  const refusalOf = async (uri: string): Promise<string> => {
    const refusal = await fetch(`${appliance.url}/api/v1/clouds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer },
      body: JSON.stringify({
        name: 'Rack 2',
        kind: 'libvirt',
        config: { uri, accelerator: 'auto', callTimeoutSeconds: 30 },
      }),
    });
    const apiError = (
      (await refusal.json()) as {
        error: { code: string; details: { fields: { field: string; message: string }[] } };
      }
    ).error;
    expect(apiError.code).toBe('VALIDATION_FAILED');
    return apiError.details.fields.find((field) => field.field === 'body.config.uri')!.message;
  };
  for (const refused of [
    'http://rack-2/system',
    'qemu+ssh://root@rack-2/sys',
    'qemu+ssh://x/system?command=/bin/sh',
  ]) {
    const uriRule = await refusalOf(refused);
    await form.getByLabel('URI').fill(refused);
    await form.getByLabel('URI').blur();
    await expect(form.getByLabel('URI')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByText(`It ${uriRule}.`, { exact: true })).toBeVisible();
  }
  // Where an accepted URI connects shows as it is typed.
  await form.getByLabel('URI').fill('qemu+ssh://root@10.0.0.2/system');
  await expect(form.getByText('It connects over ssh as root to 10.0.0.2, port 22.')).toBeVisible();
  // What the appliance accepts, the form accepts too.
  for (const accepted of ['qemu+unix:///system', 'test+tcp://rack-2/default', 'qemu:///session']) {
    await form.getByLabel('URI').fill(accepted);
    await form.getByLabel('URI').blur();
    await expect(form.getByLabel('URI')).not.toHaveAttribute('aria-invalid', 'true');
  }
  await expect(cloudCard(page, 'Rack 2')).toHaveCount(0);

  // By keyboard: name, Tab to the URI (the kind has one choice), Tab on to Add, with a visible focus.
  await form.getByLabel('Name').fill('');
  await form.getByLabel('Name').focus();
  await page.keyboard.type('Lab host');
  await page.keyboard.press('Tab');
  await expect(form.getByLabel('URI')).toBeFocused();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('test:///default');
  for (let presses = 0; presses < 3; presses += 1) await page.keyboard.press('Tab');
  const focused = page.locator(':focus');
  await expect(focused).toHaveText('Add cloud');
  expect(await focused.evaluate((element) => getComputedStyle(element).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(form.getByRole('status')).toHaveText(/^Added Lab host: reachable, [\d.]+ ms\.$/);

  // The new card arrives over the event stream, healthy, as the API says.
  const lab = cloudCard(page, 'Lab host');
  await expect(lab.getByText('Reachable', { exact: true })).toBeVisible();
  const clouds = (await api('GET', '/clouds')).body as unknown as {
    id: string;
    name: string;
    status: { reachable: boolean };
  }[];
  expect(clouds.map((cloud) => [cloud.name, cloud.status.reachable])).toEqual([
    ['This box', true],
    ['Lab host', true],
  ]);

  await lab.getByRole('button', { name: 'Test connection' }).click();
  await expect(lab.getByRole('status')).toHaveText(/^Reachable: answered in [\d.]+ ms\.$/);
  const tested = (
    (await api('GET', '/clouds')).body as unknown as {
      name: string;
      status: { latencyMs: number };
    }[]
  ).find((cloud) => cloud.name === 'Lab host')!;
  await expect(lab.locator('dd').nth(2)).toHaveText(`${tested.status.latencyMs} ms`);
  await shot(page, 'clouds');

  // Removing asks first; cancelling keeps the cloud.
  await lab.getByRole('button', { name: 'Remove' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove cloud?' });
  await expect(dialog).toContainText('Lab host is no longer offered for deployments');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(lab).toBeVisible();
  await lab.getByRole('button', { name: 'Remove' }).click();
  await dialog.getByRole('button', { name: 'Remove cloud' }).click();
  await expect(lab).toHaveCount(0);
  expect(
    ((await api('GET', '/clouds')).body as unknown as { name: string }[]).map(
      (cloud) => cloud.name,
    ),
  ).toEqual(['This box']);
});

test('box: host facts that match the API, logs, images, bundles and a refused power off', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await signIn(page, appliance.url, 'admin', adminPassword);
  await section(page, 'Box').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Box' })).toBeVisible();

  const facts = (await api('GET', '/box')).body as {
    version: string;
    hostname: string;
    os: { kernel: string };
    cpu: { cores: number };
    listen: string[];
    tlsFingerprint: string;
    disks: { mount: string; holdsDataDir: boolean }[];
    network: { name: string; addresses: string[] }[];
  };
  await expect(page.locator('[data-fact="version"]')).toHaveText(facts.version);
  await expect(page.locator('[data-fact="hostname"]')).toHaveText(facts.hostname);
  await expect(page.locator('[data-fact="os"]')).toContainText(`kernel ${facts.os.kernel}`);
  await expect(page.locator('[data-fact="cpu"]')).toContainText(`${facts.cpu.cores} logical cores`);
  await expect(page.locator('[data-fact="listen"]')).toContainText(appliance.url);
  expect(facts.listen).toEqual([appliance.url]);
  await expect(page.getByRole('main').locator('.fingerprint code')).toHaveText(
    facts.tlsFingerprint,
  );
  const dataDisk = facts.disks.find((disk) => disk.holdsDataDir)!;
  await expect(
    page
      .getByRole('table', { name: 'Disks' })
      .getByRole('row')
      .filter({ hasText: "Bivouac's data" }),
  ).toContainText(dataDisk.mount);
  const loopback = facts.network.find((iface) => iface.addresses.includes('127.0.0.1/8'))!;
  await expect(
    page
      .getByRole('table', { name: 'Network' })
      .getByRole('row')
      .filter({ hasText: loopback.name })
      .first(),
  ).toContainText('127.0.0.1/8');

  // Logs, newest first, filtered by level.
  const logs = page.getByRole('table', { name: 'Recent log lines' });
  await expect(logs.getByRole('row').filter({ hasText: 'listening' })).toBeVisible();
  await page.getByLabel('Level').selectOption('warn');
  await expect(
    logs.getByRole('row').filter({ hasText: 'dry-run hypervisor: no real VMs' }),
  ).toBeVisible();
  await expect(logs.locator('tbody tr[data-level="info"]')).toHaveCount(0);
  const levels = await logs
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-level')));
  expect(levels.length).toBeGreaterThan(0);
  expect(levels.every((level) => ['warn', 'error', 'fatal'].includes(level ?? ''))).toBe(true);
  // A new line arrives as it is written, on top, without a reload: a cloud added while its host
  // does not answer makes the reconciler warn.
  await page.evaluate(() => Object.assign(window, { isSamePage: true }));
  const added = await api('POST', '/clouds', {
    name: 'Nowhere',
    kind: 'libvirt',
    config: { uri: 'qemu+tcp://127.0.0.1:1/system', callTimeoutSeconds: 1 },
  });
  await expect(logs.locator('tbody tr').first()).toContainText('cannot reconcile a cloud', {
    timeout: 15_000,
  });
  expect(await page.evaluate(() => (window as { isSamePage?: boolean }).isSamePage)).toBe(true);
  await api('DELETE', `/clouds/${(added.body as { id: string }).id}`);

  // Import from a path on the box: progress shows in the list, then the image is ready.
  const images = page.getByRole('table', { name: 'Base images' });
  const importForm = page.getByRole('form', { name: "Import from the box's files" });
  await importForm.getByLabel('Image name').fill('field-disk');
  await importForm
    .getByLabel('Path on the box')
    .fill(await placeholderDisk('field-disk.qcow2', 768 * 1024 ** 2));
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('status')).toHaveText(
    'Importing field-disk; its progress shows in the list.',
  );
  await expect(images.getByRole('progressbar', { name: 'Importing field-disk' })).toBeVisible();
  await expect(images.getByRole('row').filter({ hasText: 'field-disk' })).toContainText('ready', {
    timeout: 60_000,
  });

  // Upload: a wrong checksum is refused with the appliance's message; then the real upload.
  const small = await placeholderDisk('small-disk.qcow2', 2 * 1024 ** 2);
  const uploadForm = page.getByRole('form', { name: 'Upload a qcow2 disk' });
  await uploadForm.getByLabel('File').setInputFiles(small);
  await expect(uploadForm.getByLabel('Image name')).toHaveValue('small-disk');
  await uploadForm.getByLabel('sha256 (optional)').fill('0'.repeat(64));
  await uploadForm.getByRole('button', { name: 'Upload' }).click();
  await expect(uploadForm.getByRole('alert')).toContainText('not the expected 0000');
  await uploadForm.getByLabel('sha256 (optional)').fill('');
  await uploadForm.getByRole('button', { name: 'Upload' }).click();
  await expect(uploadForm.getByRole('status')).toHaveText(
    'Uploaded small-disk (2 MiB), verified and ready.',
  );
  await expect(images.getByRole('row').filter({ hasText: 'small-disk' })).toContainText('ready');
  const listed = (
    (await api('GET', '/images')).body as unknown as { name: string; status: string }[]
  )
    .map((image) => `${image.name} ${image.status}`)
    .sort();
  expect(listed).toEqual(['field-disk ready', 'small-disk ready']);

  await images.getByRole('button', { name: 'Delete small-disk' }).click();
  const deleteDialog = page.getByRole('dialog', { name: 'Delete image?' });
  await expect(deleteDialog).toContainText('small-disk is removed');
  await deleteDialog.getByRole('button', { name: 'Delete image' }).click();
  await expect(images.getByRole('row').filter({ hasText: 'small-disk' })).toHaveCount(0);

  // Bundle trust: unsigned bundles only after a confirmation, and then with a warning.
  await page.getByRole('button', { name: 'Allow unsigned bundles' }).click();
  await page
    .getByRole('dialog', { name: 'Allow unsigned bundles?' })
    .getByRole('button', { name: 'Allow unsigned bundles' })
    .click();
  await expect(
    page.getByRole('alert').filter({ hasText: 'Unsigned bundles are allowed' }),
  ).toBeVisible();
  expect((await api('GET', '/settings/bundles')).body).toEqual({ allowUnsigned: true });
  await shot(page, 'box');
  await page.getByRole('button', { name: 'Refuse unsigned bundles' }).click();
  await expect(
    page.getByText('Refused: only bundles signed by a trusted publisher install.'),
  ).toBeVisible();

  const key = newSigningKey();
  const trust = page.getByRole('form', { name: 'Trust a publisher' });
  await trust.getByLabel('Publisher name').fill('Field team');
  await trust.getByLabel('Public key (base64 ed25519)').fill(key.publicKey);
  await trust.getByLabel('App ids it signs').fill('field-*, survey');
  await trust.getByRole('button', { name: 'Trust' }).click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Field team' })).toContainText(
    key.keyId,
  );
  await expect(page.getByRole('listitem').filter({ hasText: 'Field team' })).toContainText(
    'signs field-*, survey',
  );
  await page.getByRole('button', { name: 'Stop trusting Field team' }).click();
  await page
    .getByRole('dialog', { name: 'Stop trusting this publisher?' })
    .getByRole('button', { name: 'Stop trusting' })
    .click();
  await expect(page.getByRole('listitem').filter({ hasText: 'Field team' })).toHaveCount(0);

  // A file that is no bundle: the appliance's refusal, word for word.
  const junk = join(filesDir, 'junk.bvc');
  await writeFile(junk, 'this is not a bundle');
  const bundleForm = page.getByRole('form', { name: 'Upload a bundle' });
  await bundleForm.getByLabel('Bundle file').setInputFiles(junk);
  await bundleForm.getByRole('button', { name: 'Upload and install' }).click();
  const junkAnswer = await fetch(`${appliance.url}/api/v1/apps/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...bearer },
    body: 'this is not a bundle',
  });
  const junkError = ((await junkAnswer.json()) as { error: { message: string } }).error.message;
  await expect(page.getByRole('alert').filter({ hasText: junkError })).toBeVisible();

  // Power: asked first, saying every VM stops; cancelling sends nothing; confirmed, the refusal shows.
  await page.getByRole('button', { name: 'Reboot' }).click();
  const rebootDialog = page.getByRole('dialog', { name: 'Reboot the box?' });
  await expect(rebootDialog).toContainText('Every VM on the box stops');
  await rebootDialog.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Power off' }).click();
  const powerDialog = page.getByRole('dialog', { name: 'Power off the box?' });
  await expect(powerDialog).toContainText('Every VM on the box stops');
  await powerDialog.getByRole('button', { name: 'Power off' }).click();
  await expect(
    page.getByRole('alert').filter({
      hasText: 'This appliance was started without power control; it cannot poweroff the box.',
    }),
  ).toBeVisible();

  // At 1024x600 nothing spills sideways; and in the dark theme.
  await expectFitsSmallScreen(page);
  await expectDarkTheme(page);
  await shot(page, 'box-1024-dark', { fullPage: false });
});

test("an image a VM uses is not deleted: the page shows why, in the appliance's words", async ({
  page,
}) => {
  // A placeholder kernel and initrd named tiny (the test driver never boots them), then Hello web on it.
  await writeFile(
    join(filesDir, 'vmlinux'),
    Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(1024)]),
  );
  await writeFile(join(filesDir, 'initrd.img'), gzipSync(Buffer.from('070701')));
  const imported = await api('POST', '/images/import', {
    kind: 'kernel',
    name: 'tiny',
    kernel: { path: join(filesDir, 'vmlinux') },
    initrd: { path: join(filesDir, 'initrd.img') },
  });
  const imageId = (imported.body as { id: string }).id;
  await expect
    .poll(
      async () =>
        ((await api('GET', '/images')).body as unknown as { id: string; status: string }[]).find(
          (image) => image.id === imageId,
        )?.status,
    )
    .toBe('ready');
  await expect
    .poll(async () =>
      ((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
        (app) => app.id === 'hello-web',
      ),
    )
    .toBe(true);
  const run = (await api('POST', '/apps/hello-web/deploy', {})).body as { id: string };
  await expect
    .poll(async () =>
      (
        (await api('GET', '/vms')).body as { vms: { runId: string; imageId: string | null }[] }
      ).vms.some((vm) => vm.runId === run.id && vm.imageId === imageId),
    )
    .toBe(true);
  const refused = await api('DELETE', `/images/${imageId}`);
  expect(refused).toMatchObject({ status: 409, body: { error: { code: 'IMAGE_IN_USE' } } });

  await signIn(page, appliance.url, 'admin', adminPassword);
  await section(page, 'Box').click();
  const images = page.getByRole('table', { name: 'Base images' });
  await images.getByRole('button', { name: 'Delete tiny' }).click();
  await page
    .getByRole('dialog', { name: 'Delete image?' })
    .getByRole('button', { name: 'Delete image' })
    .click();
  await expect(
    page
      .getByRole('alert')
      .filter({ hasText: (refused.body as { error: { message: string } }).error.message }),
  ).toBeVisible();
  await expect(images.getByRole('row').filter({ hasText: 'tiny' })).toContainText('ready');

  // The run's VM is listed on the box's cloud, and leaves the list live once the run is terminated.
  await section(page, 'Clouds').click();
  const vmRow = cloudCard(page, 'This box').getByRole('row').filter({ hasText: run.id });
  await expect(vmRow.getByRole('link', { name: run.id })).toHaveAttribute(
    'href',
    `/runs/${run.id}`,
  );
  await api('POST', `/runs/${run.id}/terminate`);
  await expect(vmRow).toHaveCount(0);
});

test('a viewer sees clouds and host facts without any action', async ({ page }) => {
  await signIn(page, appliance.url, 'vera', viewerPassword);
  await section(page, 'Clouds').click();
  await expect(cloudCard(page, 'This box').getByText('Reachable', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Test connection' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(page.getByRole('form', { name: 'Add a remote libvirt host' })).toHaveCount(0);
  // A cloud's URI names hosts and users: administrators only.
  await expect(page.getByText('test:///default')).toHaveCount(0);
  await expect(page.getByText('URI', { exact: true })).toHaveCount(0);

  await section(page, 'Box').click();
  const facts = (await api('GET', '/box')).body as { hostname: string; listen: string[] };
  await expect(page.locator('[data-fact="hostname"]')).toHaveText(facts.hostname);
  // The data disk's size and free space, but nothing that maps the host.
  await expect(page.locator('[data-fact="data-disk"]')).toContainText(' free of ');
  for (const table of ['Disks', 'Network'])
    await expect(page.getByRole('table', { name: table })).toHaveCount(0);
  await expect(page.locator('[data-fact="listen"]')).toHaveCount(0);
  await expect(page.locator('[data-fact="hypervisor"]')).toHaveCount(0);
  await expect(page.getByText(facts.listen[0]!)).toHaveCount(0);
  await expect(
    page
      .getByRole('table', { name: 'Base images' })
      .getByRole('row')
      .filter({ hasText: 'field-disk' }),
  ).toContainText('ready');
  await expect(page.getByRole('button')).toHaveText(['Sign out']);
  for (const heading of ['Power', 'Recent log lines', 'App bundles'])
    await expect(page.getByRole('heading', { name: heading })).toHaveCount(0);
  await expect(page.getByRole('form')).toHaveCount(0);
  await shot(page, 'box-viewer');
});

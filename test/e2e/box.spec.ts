import { execFileSync } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import { expectDarkTheme, expectFitsSmallScreen, shot } from '../fixtures/ui-session.ts';
import { expect, test } from './fixtures.ts';
import { Shell } from './page-models/shell.ts';

/**
 * The Box page against the real appliance on libvirt's test driver, and what a viewer sees of
 * it and of the Clouds page. The appliance runs without power control (as every test appliance
 * does), so a confirmed power off comes back with the appliance's own refusal.
 */

test.use({ box: { name: 'box', administrator: 'from the start', hasViewer: true } });
test.describe.configure({ mode: 'serial' });

/**
 * A real, empty qcow2 disk made by qemu-img (the test driver never boots it) in `dir`, padded to
 * `bytes` long and sparse so that its import takes long enough to show progress.
 */
async function placeholderDisk(dir: string, name: string, bytes: number): Promise<string> {
  const path = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
  const handle = await open(path, 'r+');
  await handle.truncate(bytes);
  await handle.close();
  return path;
}

test('box: host facts that match the API, logs, images, bundles and a refused power off', async ({
  adminPage: page,
  appliance,
  api,
  bearer,
  filesDir,
}) => {
  test.setTimeout(120_000);
  const boxPage = await new Shell(page).goToBox();
  await expect(boxPage.heading).toBeVisible();

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
  await expect(boxPage.fact('version')).toHaveText(facts.version);
  await expect(boxPage.fact('hostname')).toHaveText(facts.hostname);
  await expect(boxPage.fact('os')).toContainText(`kernel ${facts.os.kernel}`);
  await expect(boxPage.fact('cpu')).toContainText(`${facts.cpu.cores} logical cores`);
  await expect(boxPage.fact('listen')).toContainText(appliance.url);
  expect(facts.listen).toEqual([appliance.url]);
  await expect(boxPage.fingerprint).toHaveText(facts.tlsFingerprint);
  const dataDisk = facts.disks.find((disk) => disk.holdsDataDir)!;
  await expect(boxPage.disks.getByRole('row').filter({ hasText: "Bivouac's data" })).toContainText(
    dataDisk.mount,
  );
  const loopback = facts.network.find((iface) => iface.addresses.includes('127.0.0.1/8'))!;
  await expect(
    boxPage.network.getByRole('row').filter({ hasText: loopback.name }).first(),
  ).toContainText('127.0.0.1/8');

  // Logs, newest first, filtered by level.
  const logs = boxPage.logs;
  await expect(logs.getByRole('row').filter({ hasText: 'listening' })).toBeVisible();
  await boxPage.logLevel.selectOption('warn');
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
  const importForm = boxPage.importForm;
  await importForm.getByLabel('Image name').fill('field-disk');
  await importForm
    .getByLabel('Path on the box')
    .fill(await placeholderDisk(filesDir, 'field-disk.qcow2', 768 * 1024 ** 2));
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(importForm.getByRole('status')).toHaveText(
    'Importing field-disk; its progress shows in the list.',
  );
  await expect(
    boxPage.images.getByRole('progressbar', { name: 'Importing field-disk' }),
  ).toBeVisible();
  await expect(boxPage.image('field-disk')).toContainText('ready', { timeout: 60_000 });

  // Upload: a wrong checksum is refused with the appliance's message; then the real upload.
  const small = await placeholderDisk(filesDir, 'small-disk.qcow2', 2 * 1024 ** 2);
  const uploadForm = boxPage.uploadForm;
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
  await expect(boxPage.image('small-disk')).toContainText('ready');
  const listed = (
    (await api('GET', '/images')).body as unknown as { name: string; status: string }[]
  )
    .map((image) => `${image.name} ${image.status}`)
    .sort();
  expect(listed).toEqual(['field-disk ready', 'small-disk ready']);

  await boxPage.images.getByRole('button', { name: 'Delete small-disk' }).click();
  await expect(boxPage.deleteImageDialog).toContainText('small-disk is removed');
  await boxPage.deleteImageDialog.getByRole('button', { name: 'Delete image' }).click();
  await expect(boxPage.image('small-disk')).toHaveCount(0);

  // Bundle trust: unsigned bundles only after a confirmation, and then with a warning.
  await page.getByRole('button', { name: 'Allow unsigned bundles' }).click();
  await page
    .getByRole('dialog', { name: 'Allow unsigned bundles?' })
    .getByRole('button', { name: 'Allow unsigned bundles' })
    .click();
  await expect(boxPage.alert('Unsigned bundles are allowed')).toBeVisible();
  expect((await api('GET', '/settings/bundles')).body).toEqual({ allowUnsigned: true });
  await shot(page, 'box');
  await page.getByRole('button', { name: 'Refuse unsigned bundles' }).click();
  await expect(
    page.getByText('Refused: only bundles signed by a trusted publisher install.'),
  ).toBeVisible();

  const key = newSigningKey();
  const trust = boxPage.trustForm;
  await trust.getByLabel('Publisher name').fill('Field team');
  await trust.getByLabel('Public key (base64 ed25519)').fill(key.publicKey);
  await trust.getByLabel('App ids it signs').fill('field-*, survey');
  await trust.getByRole('button', { name: 'Trust' }).click();
  await expect(boxPage.publisher('Field team')).toContainText(key.keyId);
  await expect(boxPage.publisher('Field team')).toContainText('signs field-*, survey');
  await page.getByRole('button', { name: 'Stop trusting Field team' }).click();
  await page
    .getByRole('dialog', { name: 'Stop trusting this publisher?' })
    .getByRole('button', { name: 'Stop trusting' })
    .click();
  await expect(boxPage.publisher('Field team')).toHaveCount(0);

  // A file that is no bundle: the appliance's refusal, word for word.
  const junk = join(filesDir, 'junk.bvc');
  await writeFile(junk, 'this is not a bundle');
  await boxPage.bundleForm.getByLabel('Bundle file').setInputFiles(junk);
  await boxPage.bundleForm.getByRole('button', { name: 'Upload and install' }).click();
  const junkAnswer = await fetch(`${appliance.url}/api/v1/apps/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...bearer },
    body: 'this is not a bundle',
  });
  const junkError = ((await junkAnswer.json()) as { error: { message: string } }).error.message;
  await expect(boxPage.alert(junkError)).toBeVisible();

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
    boxPage.alert('This appliance was started without power control; it cannot poweroff the box.'),
  ).toBeVisible();

  // At 1024x600 nothing spills sideways; and in the dark theme.
  await expectFitsSmallScreen(page);
  await expectDarkTheme(page);
  await shot(page, 'box-1024-dark', { fullPage: false });
});

test("an image a VM uses is not deleted: the page shows why, in the appliance's words", async ({
  adminPage: page,
  api,
  filesDir,
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

  const shell = new Shell(page);
  const boxPage = await shell.goToBox();
  await boxPage.deleteImage('tiny');
  await expect(
    boxPage.alert((refused.body as { error: { message: string } }).error.message),
  ).toBeVisible();
  await expect(boxPage.image('tiny')).toContainText('ready');

  // The run's VM is listed on the box's cloud, and leaves the list live once the run is terminated.
  const cloudsPage = await shell.goToClouds();
  const vmRow = cloudsPage.card('This box').getByRole('row').filter({ hasText: run.id });
  await expect(vmRow.getByRole('link', { name: run.id })).toHaveAttribute(
    'href',
    `/runs/${run.id}`,
  );
  await api('POST', `/runs/${run.id}/terminate`);
  await expect(vmRow).toHaveCount(0);
});

test('a viewer sees clouds and host facts without any action', async ({
  viewerPage: page,
  api,
}) => {
  const shell = new Shell(page);
  const cloudsPage = await shell.goToClouds();
  await expect(cloudsPage.card('This box').getByText('Reachable', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Test connection' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(cloudsPage.addForm).toHaveCount(0);
  // A cloud's URI names hosts and users: administrators only.
  await expect(page.getByText('test:///default')).toHaveCount(0);
  await expect(page.getByText('URI', { exact: true })).toHaveCount(0);

  const boxPage = await shell.goToBox();
  const facts = (await api('GET', '/box')).body as { hostname: string; listen: string[] };
  await expect(boxPage.fact('hostname')).toHaveText(facts.hostname);
  // The data disk's size and free space, but nothing that maps the host.
  await expect(boxPage.fact('data-disk')).toContainText(' free of ');
  // Disk for VMs, in the figures pre-flight and the Dashboard use.
  const { vmDisk } = (await api('GET', '/box')).body as {
    vmDisk: { total: number; free: number };
  };
  await expect(boxPage.fact('vm-disk')).toContainText(
    `${vmDisk.free} GiB free of ${vmDisk.total} GiB`,
  );
  for (const table of ['Disks', 'Network'])
    await expect(page.getByRole('table', { name: table })).toHaveCount(0);
  await expect(boxPage.fact('listen')).toHaveCount(0);
  await expect(boxPage.fact('hypervisor')).toHaveCount(0);
  await expect(page.getByText(facts.listen[0]!)).toHaveCount(0);
  await expect(boxPage.image('field-disk')).toContainText('ready');
  await expect(page.getByRole('button')).toHaveText(['Sign out']);
  for (const heading of ['Power', 'Recent log lines', 'App bundles'])
    await expect(page.getByRole('heading', { name: heading })).toHaveCount(0);
  await expect(page.getByRole('form')).toHaveCount(0);
  await shot(page, 'box-viewer');
});

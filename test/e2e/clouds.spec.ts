import { shot } from '../fixtures/ui-session.ts';
import { expect, test } from './fixtures.ts';
import { Shell } from './page-models/shell.ts';

/**
 * The Clouds page against the real appliance on libvirt's test driver: the box's own cloud, and
 * a second one added (its URI checked by the appliance's own rule as it is typed), tested and
 * removed. What a viewer sees of it is box.spec.ts.
 */

test.use({ box: { name: 'clouds', administrator: 'from the start' } });

test('clouds: an administrator adds a second cloud, tests it, sees it healthy and removes it', async ({
  adminPage: page,
  appliance,
  api,
  bearer,
}) => {
  const cloudsPage = await new Shell(page).goToClouds();
  await expect(cloudsPage.heading).toBeVisible();

  const box = cloudsPage.card('This box');
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

  const form = cloudsPage.addForm;
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
    await cloudsPage.enterUri(refused);
    await expect(form.getByLabel('URI')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByText(`It ${uriRule}.`, { exact: true })).toBeVisible();
  }
  // Where an accepted URI connects shows as it is typed.
  await form.getByLabel('URI').fill('qemu+ssh://root@10.0.0.2/system');
  await expect(form.getByText('It connects over ssh as root to 10.0.0.2, port 22.')).toBeVisible();
  // What the appliance accepts, the form accepts too.
  for (const accepted of ['qemu+unix:///system', 'test+tcp://rack-2/default', 'qemu:///session']) {
    await cloudsPage.enterUri(accepted);
    await expect(form.getByLabel('URI')).not.toHaveAttribute('aria-invalid', 'true');
  }
  await expect(cloudsPage.card('Rack 2')).toHaveCount(0);

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
  const lab = cloudsPage.card('Lab host');
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
  const dialog = cloudsPage.removeDialog;
  await lab.getByRole('button', { name: 'Remove' }).click();
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

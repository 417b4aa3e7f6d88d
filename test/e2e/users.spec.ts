import type { RouteOutput } from '../../appliance/src/api/contract.ts';
import { sessionApi } from '../fixtures/ui-session.ts';
import { expect, test } from './fixtures.ts';
import { Shell } from './page-models/shell.ts';

/**
 * The Users page against the real appliance: an administrator sets a user's quota inside the
 * box's capacity, checked as it is typed; the API and the Dashboard's per-user row follow.
 */

test.use({ box: { name: 'users', administrator: 'from the start' } });

test("an administrator sets a user's quota: checked as typed, kept by the box, shown on the dashboard", async ({
  adminPage: page,
  appliance,
}) => {
  const quinn = (await sessionApi(page.request, appliance.url, 'POST', '/users', {
    username: 'quinn',
    password: 'quinn long password',
    role: 'operator',
  })) as { id: string };
  const shell = new Shell(page);
  const users = await shell.goToUsers();
  const row = users.row(/^quinn/);
  await expect(row).toContainText('Only the box limits');

  await row.getByRole('button', { name: 'Quota of quinn' }).click();
  const form = users.quotaForm('quinn');
  const vms = form.getByRole('textbox', { name: 'VMs' });
  const save = form.getByRole('button', { name: 'Save quota' });
  // Checked as typed, in the API schema's words; nothing is sent while a field is wrong.
  await vms.fill('-1');
  await expect(form.getByText('must not be negative')).toBeVisible();
  await expect(vms).toHaveAttribute('aria-invalid', 'true');
  await expect(save).toBeDisabled();
  await form.getByRole('textbox', { name: 'vCPUs' }).fill('1.5');
  await expect(form.getByText('must be a whole number')).toBeVisible();
  await form.getByRole('textbox', { name: 'vCPUs' }).fill('');
  await vms.fill('3');
  await form.getByRole('textbox', { name: 'Memory (MiB)' }).fill('2048');
  await expect(form.getByText('must not be negative')).toHaveCount(0);
  await save.click();
  await expect(form).toHaveCount(0);
  await expect(row).toContainText('VMs 3, Memory (MiB) 2048');

  // The box keeps it: an empty field is no quota of its own.
  const capacity = (await sessionApi(
    page.request,
    appliance.url,
    'GET',
    '/capacity',
  )) as RouteOutput<'getCapacity'>;
  expect(capacity.users.find((user) => user.userId === quinn.id)?.quota).toEqual({
    vms: 3,
    memoryMiB: 2048,
  });

  // The dashboard's row for quinn counts against the quota.
  const dashboard = await shell.goToDashboard();
  const dashboardRow = dashboard.capacity.getByRole('row', { name: /^quinn/ });
  await expect(dashboardRow.getByRole('cell').nth(0)).toHaveText('0 of 3');
  await expect(dashboardRow.getByRole('cell').nth(2)).toHaveText('0 B of 2 GiB');
});

import { sessionApi, shot, signIn } from '../fixtures/ui-session.ts';
import { expect, onPrivateLibvirtd, test } from './fixtures.ts';
import { DeployPage } from './page-models/deploy-page.ts';
import { RunPage } from './page-models/run-page.ts';
import { Shell } from './page-models/shell.ts';
import { AppPage } from './page-models/store-page.ts';

/**
 * What can be done to a run from its page, and who sees it, against the real appliance on
 * libvirt's test driver served by a daemon of the file's own (the test plays the guests through
 * the agent API). The box has the placeholder image, and a run of the administrator's that has
 * ended, as a deploy from the store leaves it.
 */

test.use({
  box: { name: 'runs', administrator: 'from the start', hasPlaceholderImage: true },
  hypervisor: onPrivateLibvirtd,
});
test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ api }) => {
  const deployed = await api('POST', '/apps/hello-web/deploy', {
    parameters: {},
    title: 'Hello from the test',
  });
  const { id } = deployed.body as { id: string };
  expect(id, JSON.stringify(deployed.body)).toBeTruthy();
  await api('POST', `/runs/${id}/terminate`);
  await expect
    .poll(async () => (await api('GET', `/runs/${id}`)).body?.state, {
      message: 'the run has ended',
    })
    .toBe('Done');
});

test('the cluster: sizes limited to what is left, inline validation, then scale, upgrade and abort from the run page', async ({
  adminPage: page,
  appliance,
  guests,
}) => {
  const { user } = (await sessionApi(page.request, appliance.url, 'GET', '/session')) as {
    user: { id: string };
  };
  await sessionApi(page.request, appliance.url, 'PUT', `/users/${user.id}/quota`, { vms: 4 });

  await page.goto(`${appliance.url}/store/cluster/deploy`);
  const deploy = new DeployPage(page);
  const members = deploy.field('Members');
  await expect(page.getByText('Up to 4 with what is left (4 VMs left).')).toBeVisible();
  await expect(members).toHaveAttribute('max', '4');
  await members.fill('5');
  await expect(page.getByText('At most 4: 4 VMs left.')).toBeVisible();
  await expect(members).toHaveAttribute('aria-invalid', 'true');
  await members.fill('0');
  await expect(page.getByText('Must be at least 1.')).toBeVisible();
  // Left empty, the manifest's default (3) applies: nothing to complain about.
  await members.fill('');
  await expect(page.getByText('Must be at least 1.')).toHaveCount(0);
  await members.fill('2');
  await expect(deploy.readyNotice).toBeVisible();
  await expect(members).toHaveAttribute('aria-invalid', 'false');
  await deploy.deploy();

  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/);
  const run = new RunPage(page);
  await expect(run.heading('Replicated cluster', { exact: true })).toBeVisible();
  const runId = run.id;
  await expect(
    page.getByText('Scaling and upgrading are possible once the run is Ready.'),
  ).toBeVisible();
  await guests.play(runId, 2);
  await expect(run.state).toHaveText('Ready');

  await run.scale('member', 3);
  await expect(run.instance(/member\.3/)).toBeVisible();
  await expect(run.eventLog).toContainText('member: 2 → 3');

  // Scaling past the quota is refused with the box's own message.
  await run.scale('member', 6);
  await expect(page.getByRole('alert')).toContainText('Not enough VMs: your quota allows 4');

  // A newer version of the deployment is offered as an upgrade.
  const { content } = (await sessionApi(
    page.request,
    appliance.url,
    'GET',
    '/modules/version?ref=/apps/cluster/app',
  )) as { content: unknown };
  await sessionApi(page.request, appliance.url, 'PUT', '/modules?path=/apps/cluster/app', {
    content,
    message: 'a newer cluster',
  });
  await page.reload();
  await expect(run.upgradeTo).toHaveValue('2');
  await shot(page, 'run-actions');

  await run.abortButton.click();
  const abort = run.abortDialog.getByRole('button', { name: 'Abort run' });
  await expect(abort).toBeDisabled();
  await run.abortDialog.getByLabel('Reason').fill('field test over');
  await abort.click();
  await expect(page.getByRole('note').filter({ hasText: 'field test over' })).toBeVisible();
  await expect(run.state).toHaveText('Aborted');
  await expect(run.currentStep).toContainText('Aborted');
  await run.terminate();
  await expect(run.endedNotice).toBeVisible();
  await sessionApi(page.request, appliance.url, 'PUT', `/users/${user.id}/quota`, {});
});

test('a viewer sees the store and their runs, and no action', async ({
  adminPage: page,
  appliance,
  browser,
}) => {
  const vera = (await sessionApi(page.request, appliance.url, 'POST', '/users', {
    username: 'vera',
    password: 'vera long password',
    role: 'operator',
  })) as { id: string };
  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signIn(viewer, appliance.url, 'vera', 'vera long password');
  const run = (await sessionApi(viewer.request, appliance.url, 'POST', '/apps/hello-web/deploy', {
    parameters: {},
    title: 'Hello for Vera',
  })) as { id: string };
  // Vera deployed as an operator, and is a viewer now: she still sees her run, and may only look.
  await sessionApi(page.request, appliance.url, 'PATCH', `/users/${vera.id}`, { role: 'viewer' });

  await viewer.goto(`${appliance.url}/runs/${run.id}`);
  const verasRun = new RunPage(viewer);
  await expect(verasRun.heading('Hello for Vera')).toBeVisible();
  await expect(verasRun.timelineHeading).toBeVisible();
  await expect(verasRun.instance(/web\.1/)).toBeVisible();
  await expect(verasRun.actionsHeading).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: /Terminate|Abort|Scale|Upgrade/ })).toHaveCount(
    0,
  );
  await shot(viewer, 'run-viewer');

  await expect(verasRun.sharing).toHaveCount(0);
  const verasRuns = await new Shell(viewer).goToRuns();
  await expect(verasRuns.row(/Hello for Vera/)).toBeVisible();
  await expect(verasRuns.row(/Hello from the test/)).toHaveCount(0);

  // Shared from its run page, the administrator's run shows in the viewer's list at once;
  // unshared, it goes from there at once too.
  const { runs: others } = (await sessionApi(
    page.request,
    appliance.url,
    'GET',
    '/runs?q=Hello+from+the+test',
  )) as { runs: { id: string }[] };
  await page.goto(`${appliance.url}/runs/${others[0]!.id}`);
  const { sharing } = new RunPage(page);
  await expect(sharing).toContainText('Only the owner and administrators have access.');
  await sharing.getByLabel('Who').selectOption({ label: 'Every viewer' });
  await sharing.getByRole('button', { name: 'Add rule' }).click();
  await expect(sharing.getByRole('status')).toHaveText('Sharing saved.');
  await expect(sharing.getByRole('list', { name: 'Access rules' })).toHaveText(
    /Every viewer: view/,
  );
  // Its owner by name, not by id, though a viewer may not list users.
  await expect(
    verasRuns
      .row(/Hello from the test/)
      .getByRole('cell')
      .nth(3),
  ).toHaveText('admin');
  await sharing.getByRole('button', { name: 'Remove' }).click();
  await expect(sharing).toContainText('Only the owner and administrators have access.');
  await expect(verasRuns.row(/Hello from the test/)).toHaveCount(0);
  await viewer.goto(`${appliance.url}/store/hello-web`);
  await expect(
    viewer.getByText('Viewers browse the store; deploying needs an operator.'),
  ).toBeVisible();
  await expect(new AppPage(viewer).deployLink).toHaveCount(0);
  await context.close();
  await sessionApi(page.request, appliance.url, 'POST', `/runs/${run.id}/terminate`);
});

test('a finished run moves to the archive, still listed and read, and is deleted for good from its page', async ({
  adminPage: page,
  appliance,
  api,
}) => {
  const { runs } = (await api('GET', '/runs?q=Hello+from+the+test')).body as {
    runs: { id: string }[];
  };
  const id = runs[0]!.id;
  expect((await api('POST', `/runs/${id}/archive`)).status).toBe(204);

  const list = await new Shell(page).goToRuns();
  await expect(list.row(/Hello from the test/)).toContainText('archived');
  await list
    .row(/Hello from the test/)
    .getByRole('link', { name: 'Hello from the test' })
    .click();
  const run = new RunPage(page);
  await expect(run.heading('Hello from the test')).toBeVisible();
  await expect(run.archivedNote).toBeVisible();
  await expect(run.eventLog).toContainText('created');
  // Read, not changed: no sharing; deleting is what is left.
  await expect(run.sharing).toHaveCount(0);
  await expect(page.getByText('The run has ended and is archived')).toBeVisible();

  await run.deleteButton.click();
  await expect(run.deleteDialog).toContainText('deleted for good');
  await run.deleteDialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(run.heading('Hello from the test')).toBeVisible();
  await run.delete();
  await expect(page).toHaveURL(`${appliance.url}/runs`);
  await expect(list.row(/Hello from the test/)).toHaveCount(0);
  expect((await api('GET', `/runs/${id}`)).status).toBe(404);
});

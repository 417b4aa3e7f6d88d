import { expect, onPrivateLibvirtd, test } from './fixtures.ts';
import { RunPage } from './page-models/run-page.ts';

/**
 * Many tabs of the box in one browser, on plain HTTP (HTTP/1.1, six connections to a host, as
 * the box's own screen has it): they share one event stream (renderer/src/api/events.ts), so
 * no page waits for a connection, and every tab still hears every event. Against the real
 * appliance on libvirt's test driver served by a daemon of the file's own.
 */

test.use({
  box: { name: 'tabs', administrator: 'from the start', hasPlaceholderImage: true },
  hypervisor: onPrivateLibvirtd,
});

test('eight tabs share one event stream: each loads within 2 s, and each sees a run change state', async ({
  adminPage,
  appliance,
  api,
}) => {
  const deployed = await api('POST', '/apps/hello-web/deploy', {
    parameters: {},
    title: 'Seen from eight tabs',
  });
  const { id } = deployed.body as { id: string };
  expect(id, JSON.stringify(deployed.body)).toBeTruthy();

  const context = adminPage.context();
  const streams: string[] = [];
  context.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/v1/events') streams.push(request.url());
  });
  const tabs = [
    adminPage,
    ...(await Promise.all(Array.from({ length: 7 }, () => context.newPage()))),
  ];
  const runPages: RunPage[] = [];
  for (const tab of tabs) {
    await tab.goto(`${appliance.url}/runs/${id}`);
    const run = new RunPage(tab);
    // Before, the seventh tab waited on "Loading…" for as long as the six streams stayed open.
    await expect(run.heading('Seen from eight tabs')).toBeVisible({ timeout: 2_000 });
    runPages.push(run);
  }

  await api('POST', `/runs/${id}/terminate`);
  for (const run of runPages) await expect(run.state).toHaveText('Done');
  // The first tab's load opened the browser's one stream; the other seven opened none.
  expect(streams).toHaveLength(1);
});

import { expect, test } from './fixtures.ts';
import { DashboardPage } from './page-models/dashboard-page.ts';

/**
 * A box that stops answering while a page is open: the built appliance made silent with SIGSTOP
 * (its connections stay open, nothing comes through them), its heartbeat every second.
 */

test.use({ box: { name: 'lost-box', administrator: 'from the start', heartbeatSeconds: 1 } });

test('a box that stops answering is said on the page after two missed heartbeats, and the banner goes by itself when it answers again', async ({
  adminPage: page,
  appliance,
}) => {
  await page.goto(`${appliance.url}/dashboard`);
  await expect(new DashboardPage(page).heading).toBeVisible();
  const banner = page.getByRole('alert').filter({ hasText: 'The box does not answer.' });
  // A quiet box that beats is not lost.
  await page.waitForTimeout(2_500);
  await expect(banner).toHaveCount(0);

  const pid = appliance.child.pid!;
  process.kill(pid, 'SIGSTOP');
  try {
    // Two intervals without a beat, and the page's check a quarter interval later at most.
    await expect(banner).toBeVisible({ timeout: 3_000 });
    await expect(banner).toContainText('This page keeps trying');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await expect(banner).toHaveCount(0, { timeout: 3_000 });
  await expect(page.getByRole('img', { name: 'Live updates on' })).toBeVisible();
});

test("a section not yet visited while the box does not answer shows a retry in the app's frame, then loads by itself once the box is back", async ({
  adminPage: page,
  appliance,
}) => {
  await page.goto(`${appliance.url}/dashboard`);
  await expect(new DashboardPage(page).heading).toBeVisible();
  const pid = appliance.child.pid!;
  process.kill(pid, 'SIGSTOP');
  try {
    // Client-side navigation to a section whose code this page has not loaded yet.
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Clouds' })
      .click();
    const retry = page.getByRole('alert').filter({ hasText: 'This section could not be loaded' });
    await expect(retry).toBeVisible({ timeout: 15_000 });
    await expect(page.getByText('Unexpected Application Error')).toHaveCount(0);
    await expect(page.getByRole('navigation', { name: 'Sections' })).toBeVisible();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await expect(page.getByRole('heading', { level: 1, name: 'Clouds' })).toBeVisible({
    timeout: 10_000,
  });
});

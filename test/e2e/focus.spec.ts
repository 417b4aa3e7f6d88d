import { expect, test } from './fixtures.ts';
import { Shell } from './page-models/shell.ts';

/**
 * Where focus goes after a page change: the new page's heading, so a keyboard or screen-reader
 * user starts where the page starts. Against the real appliance on its default (the test driver).
 */

test.use({ box: { name: 'focus', administrator: 'from the start' } });

test("after each page change, by pointer or by keyboard, focus is on the new page's heading", async ({
  adminPage: page,
  appliance,
}) => {
  await page.goto(`${appliance.url}/store`);
  const shell = new Shell(page);
  await expect(shell.heading('App Store')).toBeVisible();

  await shell.section('Runs').click();
  await expect(shell.heading('Runs')).toBeFocused();

  await shell.section('Dashboard').focus();
  await page.keyboard.press('Enter');
  await expect(shell.heading('Dashboard')).toBeFocused();
});

import { expect, test } from './fixtures.ts';

test.use({ box: { name: 'shell' } });

test('the appliance serves the UI with a content security policy', async ({ page, appliance }) => {
  const response = await page.goto(appliance.url);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
  await expect(page).toHaveTitle('Bivouac');
});

import { expect, test } from '@playwright/test';
import { rm } from 'node:fs/promises';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

let appliance: ApplianceProcess;
let dataDir: string;

test.beforeAll(async () => {
  dataDir = await tempDir('bivouac-e2e-');
  appliance = await startAppliance(dataDir);
});
test.afterAll(async () => {
  await appliance.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('the appliance serves the UI with a content security policy', async ({ page }) => {
  const response = await page.goto(appliance.url);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
  await expect(page).toHaveTitle('Bivouac');
});

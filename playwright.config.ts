import { defineConfig } from '@playwright/test';

/** End-to-end tests in Debian's Chromium (Playwright cannot download its own browsers here). */
export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  // The specs start the built appliance and its UI (dist/), as the box runs them.
  globalSetup: './test/e2e/global-setup.ts',
  timeout: 60_000,
  workers: 1,
  retries: 0,
  // A stray test.only would silently drop every other test from the count: it fails the run instead.
  forbidOnly: true,
  outputDir: 'test-results',
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.BIVOUAC_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});

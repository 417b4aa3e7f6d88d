/**
 * The UI, measured in the built renderer and in headless Debian Chromium against a real appliance
 * (libvirt's test driver, served by a private daemon):
 * - `renderer-initial-js`: the JavaScript the first screen loads, gzipped (zlib's default level):
 *   the entry chunk named by the built index.html plus every chunk it imports statically
 *   (its modulepreloads); lazily loaded pages and libraries are not counted. Target <= 300 KB.
 * - `dashboard-first-render`: from navigation start until every panel of the dashboard is shown
 *   (capacity meters, the host's sample, runs by state, cloud health, and the history's chart
 *   canvas or its empty message), taken at the next animation frame, signed in, each run in a
 *   fresh browser context (nothing cached); median of 7 after a warm-up. Target < 1500 ms.
 * - `state-change-event-to-screen`: with a run's page open, from the page receiving the event
 *   stream's message that the run changed state to its state badge showing the new state; both
 *   stamped in the page's own clock (the message by a listener registered before the app's, the
 *   badge by a MutationObserver at the next animation frame). 10 runs, median and p95. Target < 500 ms.
 * - `state-change-api-to-screen`: the same change end to end, from just before the API call that
 *   terminates the run (Node's clock) to the badge (the page's wall clock, same machine): it
 *   includes the appliance's terminate processing. Median and p95. Target < 1000 ms.
 * - `run-page-requests-per-state-change`: the API requests the run's page sends while the
 *   run is terminated (from the call until the run has ended and the page has been quiet for
 *   500 ms; the event stream itself not counted), over the run's state-change events it
 *   received meanwhile, across the 10 runs: what the page asks for besides what the events carry
 *   (the run's other changes, its VMs' events, included). Target <= 1.
 */
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import playwrightConfig from '../../playwright.config.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { importPlaceholderImage, sessionApi } from '../fixtures/ui-session.ts';
import { emit, median, percentile, sleep } from './lib.ts';
import { buildRenderer } from './renderer-build.ts';

const password = 'correct horse battery staple';
const firstRenderRuns = 7;
const stateChanges = 10;

/** Chunks a module imports statically (`import … from "./x.js"`, `export … from`), never `import("./x.js")`. */
function staticImports(code: string): string[] {
  const found = new Set<string>();
  const pattern = /\b(?:import|export)\s*(?:[\w$*{}\s,]*?\bfrom\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g;
  for (const match of code.matchAll(pattern)) found.add(match[1]!);
  return [...found];
}

/** Gzipped bytes of the entry script and everything it loads before the first screen can run. */
async function initialJavaScript(outDir: string): Promise<{ bytes: number; files: string[] }> {
  const html = await readFile(join(outDir, 'index.html'), 'utf8');
  const named = [
    ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((match) => join(outDir, match[1]!));
  if (named.length === 0) throw new Error('index.html names no module script');
  const seen = new Set<string>();
  const queue = [...named];
  let bytes = 0;
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = await readFile(file);
    bytes += gzipSync(code).length;
    for (const imported of staticImports(code.toString('utf8')))
      queue.push(join(file, '..', imported));
  }
  return { bytes, files: [...seen].map((file) => file.slice(outDir.length + 1)) };
}

/** Milliseconds from navigation start to every dashboard panel shown, in a fresh context (empty cache). */
async function timeFirstRender(
  browser: Browser,
  url: string,
  storageState: Awaited<ReturnType<BrowserContext['storageState']>>,
): Promise<number> {
  const context = await browser.newContext({ storageState });
  try {
    const page = await context.newPage();
    await page.addInitScript(() => {
      const shown = new Promise<number>((resolve) => {
        // Each panel once it shows what it loaded (not its "Loading…").
        const panelsShown = [
          '.dashboard-capacity [role="meter"]',
          '.dashboard-host .facts',
          '.dashboard-runs .state-counts',
          '.dashboard-clouds table',
          '.dashboard-history canvas, .dashboard-history .history-empty',
        ];
        const observer = new MutationObserver(() => {
          if (!panelsShown.every((selector) => document.querySelector(selector))) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(performance.now()));
        });
        observer.observe(document, { childList: true, subtree: true });
      });
      Object.assign(window, { dashboardShown: shown });
    });
    await page.goto(`${url}/dashboard`);
    return await page.evaluate(
      () => (window as unknown as { dashboardShown: Promise<number> }).dashboardShown,
    );
  } finally {
    await context.close();
  }
}

type RunAnswer = { id: string; state: string };

/** One run deployed and waiting in Executing (no guest reports on the test driver). */
async function executingRun(page: Page, url: string, index: number): Promise<RunAnswer> {
  const run = (await sessionApi(page.request, url, 'POST', '/apps/hello-web/deploy', {
    title: `bench ${index}`,
    parameters: {},
  })) as RunAnswer;
  for (let waited = 0; waited < 10_000; waited += 25) {
    const now = (await sessionApi(page.request, url, 'GET', `/runs/${run.id}`)) as RunAnswer;
    if (now.state === 'Executing') return now;
    await sleep(25);
  }
  throw new Error(`run ${run.id} did not reach Executing`);
}

/**
 * Notes, in the page's clock, when the event stream delivers a run's state change: a listener
 * on every EventSource, registered before the app's own handler, so it runs first.
 */
function stampRunStateEvents(): void {
  const arrivals: { runId: string; state: string; at: number }[] = [];
  Object.assign(window, { runStateArrivals: arrivals });
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init);
      this.addEventListener('message', (message) => {
        const at = performance.timeOrigin + performance.now();
        const event = JSON.parse((message as MessageEvent<string>).data) as {
          type: string;
          subject: { id: string };
          data: { state?: string };
        };
        if (event.type === 'run.state' && event.data.state)
          arrivals.push({ runId: event.subject.id, state: event.data.state, at });
      });
    }
  };
}

/** The page's stamps of one change: the event's arrival and the badge showing the new state. */
interface ChangeTimes {
  apiToScreen: number;
  eventToScreen: number;
  /** API requests the page sent from the terminate call until the run was Done and quiet. */
  requests: number;
  /** The run's state-change events the page received meanwhile. */
  stateEvents: number;
}

/** Times a run's change of state on its open page: from the API call, and from the event. */
async function timeStateChange(page: Page, url: string, run: RunAnswer): Promise<ChangeTimes> {
  await page.goto(`${url}/runs/${run.id}`);
  await page.locator(`.badge[data-state="${run.state}"]`).first().waitFor();
  await page.evaluate((previous) => {
    const changed = new Promise<number>((resolve) => {
      const observer = new MutationObserver(() => {
        const badge = document.querySelector('.badge[data-state]');
        if (!badge || badge.getAttribute('data-state') === previous) return;
        observer.disconnect();
        requestAnimationFrame(() => resolve(performance.timeOrigin + performance.now()));
      });
      observer.observe(document.body, {
        childList: true,
        subtree: true,
        attributes: true,
        characterData: true,
      });
    });
    Object.assign(window, { stateChanged: changed });
  }, run.state);
  let requests = 0;
  let lastRequest = performance.now();
  const count = (request: { url(): string }) => {
    const path = new URL(request.url()).pathname;
    if (!path.startsWith('/api/v1/') || path === '/api/v1/events') return;
    requests += 1;
    lastRequest = performance.now();
  };
  const arrivalsBefore = await page.evaluate(
    () => (window as unknown as { runStateArrivals: unknown[] }).runStateArrivals.length,
  );
  page.on('request', count);
  const before = performance.timeOrigin + performance.now();
  await sessionApi(page.request, url, 'POST', `/runs/${run.id}/terminate`);
  const { shown, arrived } = await page.evaluate(
    async ({ runId, previous }) => {
      const shown = await (window as unknown as { stateChanged: Promise<number> }).stateChanged;
      const arrivals = (
        window as unknown as { runStateArrivals: { runId: string; state: string; at: number }[] }
      ).runStateArrivals;
      const first = arrivals.find(
        (arrival) => arrival.runId === runId && arrival.state !== previous,
      );
      return { shown, arrived: first?.at ?? null };
    },
    { runId: run.id, previous: run.state },
  );
  if (arrived === null) throw new Error(`no run.state event for ${run.id} reached the page`);
  await page
    .locator(
      ['Done', 'Cancelled', 'Aborted'].map((state) => `.badge[data-state="${state}"]`).join(),
    )
    .first()
    .waitFor();
  while (performance.now() - lastRequest < 500) await sleep(100);
  page.off('request', count);
  const stateEvents = await page.evaluate(
    ({ runId, from }) =>
      (window as unknown as { runStateArrivals: { runId: string }[] }).runStateArrivals
        .slice(from)
        .filter((arrival) => arrival.runId === runId).length,
    { runId: run.id, from: arrivalsBefore },
  );
  return { apiToScreen: shown - before, eventToScreen: shown - arrived, requests, stateEvents };
}

const outDir = await tempDir('bivouac-bench-renderer-');
const dataDir = await tempDir('bivouac-bench-ui-');
let daemon: PrivateLibvirtd | null = null;
let appliance: ApplianceProcess | null = null;
let browser: Browser | null = null;
try {
  buildRenderer(outDir);
  const initial = await initialJavaScript(outDir);
  process.stderr.write(`first screen loads: ${initial.files.join(', ')}\n`);
  emit('renderer-initial-js', initial.bytes / 1000, 'KB', '<=300');

  daemon = await startPrivateLibvirtd();
  appliance = await startAppliance(dataDir, {
    BIVOUAC_LIBVIRT_URI: daemon.uri,
    BIVOUAC_ADMIN_PASSWORD: password,
    BIVOUAC_RENDERER_DIR: outDir,
    BIVOUAC_LOG_LEVEL: 'warn',
  });
  browser = await chromium.launch({ ...playwrightConfig.use?.launchOptions, headless: true });
  const context = await browser.newContext();
  const signedIn = await context.request.post(`${appliance.url}/api/v1/session`, {
    data: { username: 'admin', password },
  });
  if (!signedIn.ok())
    throw new Error(`sign-in failed: ${signedIn.status()} ${await signedIn.text()}`);
  const storageState = await context.storageState();

  await timeFirstRender(browser, appliance.url, storageState); // warm-up: the server's first answers
  const renders: number[] = [];
  for (let run = 0; run < firstRenderRuns; run += 1)
    renders.push(await timeFirstRender(browser, appliance.url, storageState));
  process.stderr.write(
    `dashboard first render: ${renders.map((ms) => ms.toFixed(0)).join(', ')} ms\n`,
  );
  emit('dashboard-first-render', median(renders), 'ms', '<1500');

  const page = await context.newPage();
  await page.addInitScript(stampRunStateEvents);
  await importPlaceholderImage(page.request, appliance.url);
  for (let waited = 0; ; waited += 50) {
    const images = (await sessionApi(page.request, appliance.url, 'GET', '/images')) as {
      name: string;
      status: string;
    }[];
    if (images.some((image) => image.name === 'tiny' && image.status === 'ready')) break;
    if (waited > 10_000) throw new Error('the placeholder image was not imported');
    await sleep(50);
  }
  const changes: ChangeTimes[] = [];
  for (let index = 0; index < stateChanges; index += 1) {
    const run = await executingRun(page, appliance.url, index);
    changes.push(await timeStateChange(page, appliance.url, run));
  }
  const fromEvent = changes.map((change) => change.eventToScreen);
  const fromApi = changes.map((change) => change.apiToScreen);
  process.stderr.write(
    `state change, event to screen: ${fromEvent.map((ms) => ms.toFixed(1)).join(', ')} ms\n` +
      `state change, API call to screen: ${fromApi.map((ms) => ms.toFixed(0)).join(', ')} ms\n`,
  );
  emit('state-change-event-to-screen-median', median(fromEvent), 'ms', '<500');
  emit('state-change-event-to-screen-p95', percentile(fromEvent, 95), 'ms', '<500');
  emit('state-change-api-to-screen-median', median(fromApi), 'ms', '<1000');
  emit('state-change-api-to-screen-p95', percentile(fromApi, 95), 'ms', '<1000');
  const requests = changes.reduce((sum, change) => sum + change.requests, 0);
  const stateEvents = changes.reduce((sum, change) => sum + change.stateEvents, 0);
  process.stderr.write(
    `run page while terminating: ${changes.map((change) => `${change.requests} requests / ${change.stateEvents} state changes`).join(', ')}\n`,
  );
  emit('run-page-requests-per-state-change', requests / stateEvents, 'requests', '<=1');
} finally {
  await browser?.close();
  await appliance?.stop();
  await daemon?.stop();
  await rm(outDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
}

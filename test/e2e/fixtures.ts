import {
  expect,
  test as base,
  type APIRequestContext,
  type Page,
  type WorkerFixture,
} from '@playwright/test';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  freePort,
  sendJson,
  signInSession,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { importPlaceholderImage, sessionApi, signIn } from '../fixtures/ui-session.ts';
import { GuestPlayer } from './guest-player.ts';

/**
 * What every spec would otherwise repeat: its box (the built appliance as a process, on the
 * hypervisor the file chooses), the administrator's API, and pages signed in per role. A spec
 * file says what its box is once, at the top, with `test.use({ box: { name: … } })`: a worker
 * option set in a file gives that file a worker of its own, so each file gets a box of its own,
 * started before its first test and stopped after its last.
 */

/** Someone the specs sign in as. */
export interface Account {
  username: string;
  password: string;
}

/** The people of a box: its administrator, and the viewer a box makes when asked (`hasViewer`). */
export const accounts = {
  admin: { username: 'admin', password: 'correct horse battery staple' },
  viewer: { username: 'vera', password: 'viewer password 123' },
} as const satisfies Record<string, Account>;

/** What a spec file's box holds before its first test. */
export interface BoxOptions {
  /** Names the box's data folder (`bivouac-e2e-NAME-…`). */
  name: string;
  /**
   * `first run` (the default): nobody yet, the first-run form makes the administrator with the
   * setup code the appliance logs. `from the start`: `accounts.admin` exists as the box starts,
   * as BIVOUAC_ADMIN_PASSWORD makes it.
   */
  administrator?: 'first run' | 'from the start';
  /** `accounts.viewer` exists, for `viewerPage`. */
  hasViewer?: boolean;
  /** The box's own screen is served by the local listener (`appliance.screenUrl`). */
  hasScreen?: boolean;
  /** The placeholder image `tiny` is imported and ready (for specs that deploy, not import). */
  hasPlaceholderImage?: boolean;
  /** The box's heartbeat interval (config `heartbeatSeconds`; 15 s unless set). */
  heartbeatSeconds?: number;
}

/** Where the box's VMs go: a libvirt URI, and the folder of the images it ships, if any. */
export interface Hypervisor {
  uri: string;
  builtinImagesDir?: string;
}

/** A spec file's running appliance, with its data folder and (`hasScreen`) its screen's URL. */
export type Appliance = ApplianceProcess & {
  dataDir: string;
  /**
   * The local listener (loopback HTTP), where the box's own screen signs in; under another
   * loopback name than `url`, so that the two keep their cookies apart.
   */
  screenUrl: string | undefined;
};

/** A call to the REST API as the administrator (a bearer token); the answer's status and body. */
export type AdminApi = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

export interface BoxFixtures {
  box: BoxOptions;
  hypervisor: Hypervisor;
  /** A libvirt daemon of the file's own, serving the test driver: see `onPrivateLibvirtd`. */
  libvirtd: PrivateLibvirtd;
  appliance: Appliance;
  /** The administrator's token, for raw requests `api` does not make (uploads, octet streams). */
  bearer: { authorization: string };
  api: AdminApi;
  /** Plays the guests of runs on the private daemon, which runs no guest code. */
  guests: GuestPlayer;
  /**
   * A folder of the file's own in the temp dir, which the box imports from by path (as it
   * would from a USB stick): the tests' disks and bundles are written there.
   */
  filesDir: string;
}

export interface PageFixtures {
  /** The test's own page, signed in as the administrator. */
  adminPage: Page;
  /** A page of a browser context of its own, signed in as the viewer (a box with `hasViewer`). */
  viewerPage: Page;
}

/**
 * For `test.use({ hypervisor })`: the box runs on libvirt's test driver served by the file's own
 * daemon (`libvirtd`), so that the test reads each VM's agent token as its guest would.
 */
export const onPrivateLibvirtd: WorkerFixture<Hypervisor, Pick<BoxFixtures, 'libvirtd'>> = async (
  { libvirtd },
  use,
) => use({ uri: libvirtd.uri });

/**
 * For `test.use({ hypervisor })`: the box runs on the machine's own libvirt daemon, booting real
 * QEMU guests, and ships the tiny guest image (both prepared by build/ scripts, cached).
 */
// eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's needs from this pattern
export const onRealQemu: WorkerFixture<Hypervisor, object> = async ({}, use) => {
  const qemu = prepareRealQemu();
  await use({ uri: qemu.uri, builtinImagesDir: qemu.imagesDir });
};

export const test = base.extend<PageFixtures, BoxFixtures>({
  // Set by every file; a name left empty says a file forgot, and would share another file's box.
  box: [{ name: '' }, { scope: 'worker', option: true }],
  hypervisor: [{ uri: 'test:///default' }, { scope: 'worker', option: true }],
  libvirtd: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the needs from this pattern
    async ({}, use) => {
      const daemon = await startPrivateLibvirtd();
      await use(daemon);
      await daemon.stop();
    },
    { scope: 'worker' },
  ],
  appliance: [
    async ({ box, hypervisor, playwright }, use) => {
      if (!box.name) throw new Error("name this file's box: test.use({ box: { name: ... } })");
      const dataDir = await tempDir(`bivouac-e2e-${box.name}-`);
      if (box.heartbeatSeconds !== undefined)
        await writeFile(
          join(dataDir, 'config.json'),
          JSON.stringify({ heartbeatSeconds: box.heartbeatSeconds }),
        );
      let appliance: Appliance | undefined;
      try {
        const screenPort = box.hasScreen ? await freePort() : undefined;
        const started = await startAppliance(dataDir, {
          BIVOUAC_LIBVIRT_URI: hypervisor.uri,
          ...(hypervisor.builtinImagesDir
            ? { BIVOUAC_BUILTIN_IMAGES_DIR: hypervisor.builtinImagesDir }
            : {}),
          ...(box.administrator === 'from the start'
            ? { BIVOUAC_ADMIN_PASSWORD: accounts.admin.password }
            : {}),
          ...(screenPort ? { BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${screenPort}` } : {}),
        });
        appliance = Object.assign(started, {
          dataDir,
          screenUrl: screenPort ? `http://localhost:${screenPort}` : undefined,
        });
        if (box.hasViewer || box.hasPlaceholderImage) {
          const request = await playwright.request.newContext();
          try {
            await prepare(box, appliance.url, request);
          } finally {
            await request.dispose();
          }
        }
        await use(appliance);
      } finally {
        await appliance?.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    { scope: 'worker' },
  ],
  bearer: [
    async ({ appliance }, use) => {
      const { username, password } = accounts.admin;
      const session = await signInSession(appliance.url, username, password);
      const created = await sendJson(appliance.url, session, 'POST', '/tokens', { name: 'e2e' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await use({ authorization: `Bearer ${(created.body as { token: string }).token}` });
    },
    { scope: 'worker' },
  ],
  api: [
    async ({ appliance, bearer }, use) =>
      use((method, path, body) => sendJson(appliance.url, bearer, method, path, body)),
    { scope: 'worker' },
  ],
  guests: [
    async ({ libvirtd, appliance }, use) => use(new GuestPlayer(libvirtd.uri, appliance.url)),
    { scope: 'worker' },
  ],
  filesDir: [
    async ({ box }, use) => {
      const dir = await tempDir(`bivouac-e2e-${box.name}-files-`);
      await use(dir);
      await rm(dir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  adminPage: async ({ page, appliance }, use) => {
    await signIn(page, appliance.url, accounts.admin.username, accounts.admin.password);
    await use(page);
  },
  viewerPage: async ({ browser, appliance }, use) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, appliance.url, accounts.viewer.username, accounts.viewer.password);
    await use(page);
    await context.close();
  },
});

export { expect };

/**
 * Makes what the box's options ask for before its first test, as the administrator with the kind
 * of session a page holds (a cookie and its CSRF token), through the helpers of ui-session.ts.
 */
async function prepare(box: BoxOptions, url: string, request: APIRequestContext): Promise<void> {
  const login = await request.post(`${url}/api/v1/session`, { data: accounts.admin });
  expect(login.ok(), `signing in as the administrator: ${await login.text()}`).toBe(true);
  if (box.hasViewer)
    await sessionApi(request, url, 'POST', '/users', { ...accounts.viewer, role: 'viewer' });
  if (box.hasPlaceholderImage) {
    await importPlaceholderImage(request, url);
    await expect
      .poll(
        async () =>
          ((await sessionApi(request, url, 'GET', '/images')) as { name: string; status: string }[])
            .filter((image) => image.name === 'tiny')
            .map((image) => image.status),
        { message: 'the placeholder image is ready' },
      )
      .toEqual(['ready']);
  }
}

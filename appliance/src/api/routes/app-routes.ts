import type { FastifyInstance } from 'fastify';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { latestOf, type Apps } from '../../catalog/apps.ts';
import type { AppVersion, StoredApp } from '../../domain/apps.ts';
import { publisherKey } from '../../catalog/bundle.ts';
import { limits } from '../../domain/limits.ts';
import type { ImportFolders } from '../../host/import-files.ts';
import { BivouacError } from '../../errors.ts';
import type { Accounts } from '../auth/accounts.ts';
import { isLocked, kioskLocked, screenOf } from '../auth/kiosk.ts';
import { authenticate } from '../auth/request-auth.ts';
import { apiPrefix, signedIn, type Handlers } from '../register-routes.ts';
import type { RunTimings } from '../../orchestrator/run-timings.ts';
import { shownRun, timedDeploy } from './run-routes.ts';

type AppHandlers =
  | 'listApps'
  | 'getApp'
  | 'appSources'
  | 'importApp'
  | 'uploadApp'
  | 'preflightApp'
  | 'deployApp'
  | 'publishApp'
  | 'setAppPublished'
  | 'listPublishers'
  | 'trustPublisher'
  | 'distrustPublisher'
  | 'getBundleSettings'
  | 'setBundleSettings';

const assetUrl = (app: StoredApp, version: AppVersion, file: string): string =>
  `${apiPrefix}/apps/${app.id}/assets/${version.version}/${file}`;

function summary(app: StoredApp, version: AppVersion) {
  const { manifest } = version;
  return {
    id: app.id,
    version: version.version,
    title: manifest.app.title,
    summary: manifest.app.summary,
    categories: manifest.app.categories,
    // The trusted key's name, never the manifest's own words; none for an unsigned install.
    publisher: version.publisherName,
    signed: version.signed,
    iconUrl: manifest.app.icon ? assetUrl(app, version, manifest.app.icon) : null,
    requires: manifest.deploy.requires,
    published: app.published,
    module: `${version.modules[0]!.path}@${version.modules[0]!.version}`,
  };
}

function detail(app: StoredApp) {
  const version = latestOf(app);
  const { manifest } = version;
  return {
    ...summary(app, version),
    description: manifest.app.description,
    screenshotUrls: manifest.app.screenshots.map((file) => assetUrl(app, version, file)),
    form: manifest.deploy.form,
    clouds: manifest.deploy.clouds,
    versions: app.versions.map((candidate) => ({
      version: candidate.version,
      installedAt: candidate.installedAt,
      signed: candidate.signed,
      publisher: candidate.publisherName,
    })),
  };
}

/** The app store: listing, install, pre-flight, deploy, publishing and trust. */
export function appHandlers(
  apps: Apps,
  folders: ImportFolders,
  timings: RunTimings,
): Pick<Handlers, AppHandlers> {
  const installed = (result: { app: StoredApp; version: AppVersion; warning: string | null }) => ({
    app: summary(result.app, result.version),
    warning: result.warning,
  });
  return {
    // Unpublished apps are for administrators (to publish them again); others get the store as it is.
    listApps: async ({ query }, context) =>
      apps
        .list(query.include === 'unpublished' && signedIn(context).subject.role === 'admin')
        .map(({ app, latest }) => summary(app, latest)),
    getApp: async ({ params }) => detail(apps.get(params.id)),
    appSources: async () => folders.list('.bvc'),
    importApp: async ({ body }, context) => {
      // Only a regular file inside removable media or an import folder, no larger than a bundle may be.
      const file = await folders.file(body.path, limits.bundleBytes);
      return installed(
        await apps.install(
          signedIn(context).subject,
          await file.open(),
          body.path,
          file.sizeBytes,
          body.allowDowngrade,
        ),
      );
    },
    uploadApp: async ({ query }, context) => {
      const length = Number(context.request.headers['content-length']);
      try {
        return installed(
          await apps.install(
            signedIn(context).subject,
            context.request.body as Readable,
            'upload',
            Number.isSafeInteger(length) ? length : null,
            query.allowDowngrade === 'true',
          ),
        );
      } catch (error) {
        // A refused bundle may be refused long before its end: the connection closes after the
        // answer instead of reading (and dropping) the rest of it.
        void context.reply.header('connection', 'close');
        throw error;
      }
    },
    preflightApp: async ({ params, body }, context) =>
      apps.preflight(signedIn(context).subject, params.id, body),
    deployApp: async ({ params, body }, context) => {
      const run = timedDeploy(
        timings,
        context,
        await apps.deploy(signedIn(context).subject, params.id, body, screenOf(context.principal)),
      );
      return shownRun(run);
    },
    publishApp: async ({ body }, context) =>
      detail(await apps.publish(signedIn(context).subject, body)),
    setAppPublished: async ({ params, body }) => {
      await apps.setPublished(params.id, body.published);
      return body;
    },
    listPublishers: async () => [...apps.publishers()],
    trustPublisher: async ({ body }) =>
      apps.trust(body.name, publisherKey(body.publicKey), body.appIds),
    distrustPublisher: async ({ params }) => {
      await apps.distrust(params.id);
      return null;
    },
    getBundleSettings: async () => ({ allowUnsigned: apps.allowUnsigned }),
    setBundleSettings: async ({ body }) => {
      await apps.setAllowUnsigned(body.allowUnsigned);
      return body;
    },
  };
}

/**
 * The two binary routes of the store: an app's icon and screenshots, and the export of an app
 * as a signed bundle (a download). Signed-in users only; exports for administrators.
 */
export function registerAppFiles(app: FastifyInstance, accounts: Accounts, apps: Apps): void {
  app.get(`${apiPrefix}/apps/:id/assets/:version/*`, async (request, reply) => {
    if (!authenticate(accounts, request))
      throw new BivouacError('UNAUTHENTICATED', 'Sign in or send an API token.');
    const {
      id,
      version,
      '*': file,
    } = request.params as { id: string; version: string; '*': string };
    const path = apps.assetPath(id, version, file);
    const type = file.endsWith('.svg')
      ? 'image/svg+xml'
      : file.endsWith('.png')
        ? 'image/png'
        : file.endsWith('.jpg') || file.endsWith('.jpeg')
          ? 'image/jpeg'
          : 'application/octet-stream';
    return reply
      .header('content-type', type)
      .header('cache-control', 'private, max-age=86400')
      .send(createReadStream(path));
  });
  app.get(`${apiPrefix}/apps/:id/export`, async (request, reply) => {
    const principal = authenticate(accounts, request);
    if (!principal) throw new BivouacError('UNAUTHENTICATED', 'Sign in or send an API token.');
    // Registered outside the one pipeline, so the kiosk lock is checked here (icons above are the store's own).
    if (isLocked(principal)) throw kioskLocked();
    if (principal.subject.role !== 'admin')
      throw new BivouacError('FORBIDDEN', 'Only an administrator may do this.', {
        requiredRole: 'admin',
      });
    const { id } = request.params as { id: string };
    const withImages = (request.query as { images?: string }).images === 'true';
    const found = apps.get(id);
    const out = new PassThrough();
    void apps.export(id, out, withImages).catch((error: unknown) => out.destroy(error as Error));
    return reply
      .header('content-type', 'application/octet-stream')
      .header(
        'content-disposition',
        `attachment; filename="${found.id}-${latestOf(found).version}.bvc"`,
      )
      .send(out);
  });
}

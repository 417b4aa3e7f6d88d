import type { Logger } from 'pino';
import type { Services } from './app-services.ts';
import { builtInAppsDir, builtInImagesDir } from './paths.ts';
import type { Readiness } from './readiness.ts';

/**
 * Installs what ships with the product in the background, once the UI answers: the catalog (its
 * apps appear as app.installed events) and the images (the tiny guest). `/healthz` says
 * "starting" until both are in; a failure is logged and kept in the readiness report. The
 * promises settle when both are done (whatever the outcome), for the shutdown to wait on.
 */
export function installBuiltIns(
  services: Services,
  logger: Logger,
): { catalogInstalled: Promise<void>; imagesInstalled: Promise<void> } {
  const catalogInstalled = follow(services.readiness, logger, {
    part: 'built-in catalog',
    work: services.apps.installBuiltIn(builtInAppsDir),
    field: 'apps',
    installed: 'installed the built-in catalog',
    failed: 'a built-in app could not be installed',
    nameOf: (failure) => failure.app,
  });
  // Images shipped with the product (the tiny guest) are imported the same way, in the background.
  const imagesInstalled = follow(services.readiness, logger, {
    part: 'built-in images',
    work: services.images.installBuiltIn(
      process.env.BIVOUAC_BUILTIN_IMAGES_DIR || builtInImagesDir,
    ),
    field: 'images',
    installed: 'imported the built-in images',
    failed: 'a built-in image could not be imported',
    nameOf: (failure) => failure.image,
  });
  return { catalogInstalled, imagesInstalled };
}

/** One kind of shipped part being installed, and the words its log lines use. */
interface BuiltInInstall<Failure extends { error: string }> {
  /** Its name in the readiness report (and in the log when it cannot be read at all). */
  part: string;
  work: Promise<{ installed: string[]; failed: Failure[] }>;
  /** The log field the installed names go under. */
  field: string;
  installed: string;
  failed: string;
  nameOf: (failure: Failure) => string;
}

/** Tracks an install in the readiness report and logs how it ended; never rejects. */
function follow<Failure extends { error: string }>(
  readiness: Readiness,
  logger: Logger,
  install: BuiltInInstall<Failure>,
): Promise<void> {
  return readiness.track(install.part, install.work).then(
    (result) => {
      if (result.installed.length > 0)
        logger.info({ [install.field]: result.installed }, install.installed);
      for (const failure of result.failed) {
        const fields: { error: string } = failure;
        logger.error(fields, install.failed);
        readiness.fail(install.part, `${install.nameOf(failure)}: ${failure.error}`);
      }
    },
    (error: unknown) =>
      logger.error({ error: (error as Error).message }, `the ${install.part} could not be read`),
  );
}

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the appliance's own files are, the same whether it runs from its sources
 * (`appliance/src/*.ts`) or built (`dist/appliance/src/server.js`): this module sits in `src/`.
 */
const source = dirname(fileURLToPath(import.meta.url));

export const applianceRoot = resolve(source, '..');

/** The catalog shipped with the product. */
export const builtInAppsDir = join(applianceRoot, 'apps');

/** The guest agent, written into cloud-image seeds. */
export const guestAgentPath = join(applianceRoot, 'src', 'guest', 'bivouac-agent');

/** The built renderer: `dist/renderer` beside the sources, or `renderer` beside a built appliance. */
export const rendererDir =
  [join(applianceRoot, '..', 'dist', 'renderer'), join(applianceRoot, '..', 'renderer')].find(
    (dir) => existsSync(join(dir, 'index.html')),
  ) ?? join(applianceRoot, '..', 'dist', 'renderer');

/**
 * Base images shipped with the product (the tiny guest): `images/` beside a packaged appliance,
 * else what build/tiny-guest.sh wrote into `build/out/` of the sources.
 */
export const builtInImagesDir =
  [
    join(applianceRoot, 'images'),
    join(applianceRoot, '..', 'build', 'out'),
    join(applianceRoot, '..', '..', 'build', 'out'),
  ].find((dir) => existsSync(dir)) ?? join(applianceRoot, 'images');

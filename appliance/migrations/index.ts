import type { Migration } from '../src/store/document.ts';
import { migration as initial } from './0001-initial.ts';
import { migration as capacity } from './0002-capacity.ts';
import { migration as clouds } from './0003-clouds.ts';
import { migration as vms } from './0004-vms.ts';
import { migration as images } from './0005-images.ts';
import { migration as modules } from './0006-modules.ts';
import { migration as runs } from './0007-runs.ts';
import { migration as runUpgrades } from './0008-run-upgrades.ts';
import { migration as apps } from './0009-apps.ts';
import { migration as kiosk } from './0010-kiosk.ts';
import { migration as moduleVersionNumbers } from './0011-module-version-numbers.ts';
import { migration as appModulePins } from './0012-app-module-pins.ts';
import { migration as appPublishers } from './0013-app-publishers.ts';
import { migration as imageVirtualSize } from './0014-image-virtual-size.ts';
import { migration as runLogFiles } from './0015-run-log-files.ts';
import { migration as runContentByReference } from './0016-run-content-by-reference.ts';

/** Every migration, in order. Append new files; never edit or reorder a released one. */
export const migrations: readonly Migration[] = [
  initial,
  capacity,
  clouds,
  vms,
  images,
  modules,
  runs,
  runUpgrades,
  apps,
  kiosk,
  moduleVersionNumbers,
  appModulePins,
  appPublishers,
  imageVirtualSize,
  runLogFiles,
  runContentByReference,
];

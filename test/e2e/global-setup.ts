import { ensureBuilt } from '../fixtures/built-appliance.ts';

/**
 * Once before the specs: the built appliance they start and the UI it serves (dist/appliance,
 * dist/renderer), each rebuilt when older than its sources.
 */
export default function globalSetup(): void {
  ensureBuilt('appliance', 'renderer');
}

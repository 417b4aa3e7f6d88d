import { describe, expect, it } from 'vitest';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import { canAccess } from '../../appliance/src/domain/access.ts';
import type { Client, TestAppliance } from '../fixtures/appliance.ts';
import { useBundleBox } from '../fixtures/bundle-box.ts';
import { bundle } from '../fixtures/hostile-bundles.ts';

/**
 * What an import tells whom (L9): its host path and its errors reach administrators only, while
 * everyone hears an app installed.
 */
describe("bundle imports' events (L9)", () => {
  let box: TestAppliance;
  let admin: Client;
  const { importPath } = useBundleBox((parts) => ({ box, admin } = parts));

  it("L9: an import's events (its host path, its errors) reach administrators only; everyone hears the app installed", async () => {
    const after = box.services.events.latestId;
    const path = await bundle();
    expect((await importPath(path)).statusCode).toBe(201);
    const refused = await bundle({ version: '2.0.0', signer: newSigningKey() });
    expect((await importPath(refused)).json()).toMatchObject({
      error: { code: 'UNTRUSTED_BUNDLE' },
    });
    const events = (box.services.events.since(after) ?? []).filter((event) =>
      event.type.startsWith('app.'),
    );
    expect(events.map((event) => event.type)).toEqual([
      'app.importing',
      'app.installed',
      'app.import.done',
      'app.importing',
      'app.import.failed',
    ]);
    const operator = { userId: 'someone', role: 'operator' as const };
    for (const event of events) {
      const isPublic = event.type === 'app.installed';
      expect(canAccess(operator, event.access, 'view'), event.type).toBe(isPublic);
      expect(canAccess({ userId: admin.userId, role: 'admin' }, event.access, 'view')).toBe(true);
      if (isPublic) expect(JSON.stringify(event.data)).not.toContain('bivouac-usb-');
    }
  });
});

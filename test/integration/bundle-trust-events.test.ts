import { afterEach, describe, expect, it } from 'vitest';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import { canAccess } from '../../appliance/src/domain/access.ts';
import { as, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';

describe('changes to bundle trust are events for administrators', () => {
  let box: TestAppliance;
  afterEach(async () => {
    await box.close();
  });

  it('announces trusting and distrusting a publisher and the unsigned-bundles setting, to admins only', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const key = newSigningKey();
    const after = box.services.events.latestId;
    const trusted = await box.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(admin),
      payload: { name: 'Field team', publicKey: key.publicKey, appIds: ['field-*'] },
    });
    expect(trusted.statusCode).toBe(201);
    await box.app.inject({
      method: 'PUT',
      url: '/api/v1/settings/bundles',
      headers: as(admin),
      payload: { allowUnsigned: true },
    });
    const removed = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/publishers/${key.keyId}`,
      headers: as(admin),
    });
    expect(removed.statusCode).toBe(204);

    const events = (box.services.events.since(after) ?? []).filter((event) =>
      ['publisher', 'settings'].includes(event.subject.kind),
    );
    expect(events.map((event) => [event.type, event.subject.id, event.data])).toEqual([
      ['publisher.trusted', key.keyId, { name: 'Field team', appIds: ['field-*'] }],
      ['settings.bundles', 'bundles', { allowUnsigned: true }],
      ['publisher.distrusted', key.keyId, {}],
    ]);
    for (const event of events) {
      expect(canAccess({ userId: admin.userId, role: 'admin' }, event.access, 'view')).toBe(true);
      expect(canAccess({ userId: 'someone', role: 'operator' }, event.access, 'view')).toBe(false);
    }
  });
});

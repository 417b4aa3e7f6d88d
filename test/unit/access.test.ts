import { describe, expect, it } from 'vitest';
import {
  canAccess,
  privateTo,
  visibleToAll,
  type Access,
  type Subject,
} from '../../appliance/src/domain/access.ts';
import { hasEnabledAdmin } from '../../appliance/src/domain/users.ts';

const admin: Subject = { userId: 'a', role: 'admin' };
const owner: Subject = { userId: 'o', role: 'operator' };
const operator: Subject = { userId: 'p', role: 'operator' };
const viewer: Subject = { userId: 'v', role: 'viewer' };

describe('canAccess', () => {
  it('lets admins do everything and owners what their role allows', () => {
    const access = privateTo('o');
    expect(canAccess(admin, access, 'manage')).toBe(true);
    expect(canAccess(owner, access, 'manage')).toBe(true);
    expect(canAccess(operator, access, 'view')).toBe(false);
    expect(canAccess(viewer, access, 'view')).toBe(false);
  });

  it('grants by user, role or everyone, one action at a time', () => {
    const access: Access = {
      owner: 'o',
      acl: [
        { user: 'p', allow: ['view', 'run'] },
        { role: 'viewer', allow: ['view'] },
      ],
    };
    expect(canAccess(operator, access, 'run')).toBe(true);
    expect(canAccess(operator, access, 'edit')).toBe(false);
    expect(canAccess(viewer, access, 'view')).toBe(true);
    expect(canAccess(viewer, visibleToAll('o'), 'view')).toBe(true);
    expect(canAccess(operator, visibleToAll('o'), 'edit')).toBe(false);
  });

  it('never lets an ACL lift a role above its ceiling', () => {
    const access: Access = {
      owner: 'o',
      acl: [{ everyone: true, allow: ['view', 'edit', 'run', 'manage'] }],
    };
    expect(canAccess(viewer, access, 'view')).toBe(true);
    expect(canAccess(viewer, access, 'edit')).toBe(false);
    expect(canAccess(viewer, access, 'run')).toBe(false);
    expect(canAccess({ userId: 'v', role: 'viewer' }, privateTo('v'), 'manage')).toBe(false);
  });
});

describe('hasEnabledAdmin', () => {
  it('needs at least one admin that is not disabled', () => {
    expect(hasEnabledAdmin([{ role: 'admin', disabled: false }])).toBe(true);
    expect(
      hasEnabledAdmin([
        { role: 'admin', disabled: true },
        { role: 'operator', disabled: false },
      ]),
    ).toBe(false);
    expect(hasEnabledAdmin([])).toBe(false);
  });
});

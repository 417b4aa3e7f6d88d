import { describe, expect, it } from 'vitest';
import {
  appIdsPattern,
  compareVersions,
  newestVersion,
  nextMajorVersion,
  outsideAppFolder,
  signsFor,
} from '../../appliance/src/domain/app-trust.ts';
import type { ModuleContent } from '../../appliance/src/domain/modules.ts';

const image = (parent: string | null = null): ModuleContent => ({
  kind: 'image',
  parent,
  nativeImages: {},
  recipes: {},
  inputs: [],
  outputs: [],
  ports: [],
});

describe('app trust rules', () => {
  it('lets a key sign exact ids, prefixes and everything, and nothing else', () => {
    expect(signsFor(['acme-*'], 'acme-crm')).toBe(true);
    expect(signsFor(['acme-*'], 'acmecrm')).toBe(false);
    expect(signsFor(['crm'], 'crm')).toBe(true);
    expect(signsFor(['crm'], 'crm-2')).toBe(false);
    expect(signsFor(['*'], 'anything')).toBe(true);
    expect(['*', 'acme-*', 'a*', 'crm'].every((pattern) => appIdsPattern.test(pattern))).toBe(true);
    expect(
      ['*acme', 'Acme-*', 'acme-**', '', 'a', '-x*'].some((pattern) => appIdsPattern.test(pattern)),
    ).toBe(false);
  });

  it('orders versions by number: the newest is the highest, whatever the install order', () => {
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('2.0.0', '10.0.0')).toBeLessThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
    expect(
      newestVersion([{ version: '1.9.0' }, { version: '1.10.0' }, { version: '1.2.0' }]),
    ).toEqual({ version: '1.10.0' });
    expect(newestVersion([])).toBeUndefined();
    expect(
      nextMajorVersion([{ version: '1.9.0' }, { version: '3.1.0' }, { version: '2.0.0' }]),
    ).toBe('4.0.0');
    expect(nextMajorVersion([])).toBe('1.0.0');
  });

  it("keeps a bundle's modules and their references inside /apps/<id>/", () => {
    const modules = new Map<string, ModuleContent>([
      ['/apps/crm', { kind: 'project' }],
      ['/apps/crm/base', image()],
      ['/apps/crm/web', image('/apps/crm/base@2')],
      [
        '/apps/crm/app',
        {
          kind: 'deployment',
          nodes: [
            {
              name: 'web',
              image: '/apps/crm/web',
              multiplicity: 1,
              cloud: null,
              maxFailures: 0,
              mappings: {},
            },
          ],
        },
      ],
    ]);
    expect(outsideAppFolder('crm', modules)).toEqual([]);
    const escapes = new Map<string, ModuleContent>([
      ['/apps', { kind: 'project' }],
      ['/apps/crm-other/web', image()],
      ['/apps/crm', image()],
      ['/apps/crm/web', image('/alice/base')],
      [
        '/apps/crm/app',
        {
          kind: 'deployment',
          nodes: [
            {
              name: 'db',
              image: '/apps/other/db@1',
              multiplicity: 1,
              cloud: null,
              maxFailures: 0,
              mappings: {},
            },
          ],
        },
      ],
    ]);
    expect(
      outsideAppFolder('crm', escapes).map((problem) => `${problem.module} ${problem.field}`),
    ).toEqual([
      '/apps path',
      '/apps/crm-other/web path',
      '/apps/crm content.kind',
      '/apps/crm/web content.parent',
      '/apps/crm/app content.nodes.0.image',
    ]);
  });
});

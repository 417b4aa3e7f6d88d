import type { Migration } from '../src/store/document.ts';

type Version = {
  version?: unknown;
  signed?: unknown;
  publisher?: unknown;
  publisherName?: unknown;
};

/** Orders `major.minor.patch` by number (a copy of the rule at this version: migrations never change). */
function newer(a: string, b: string): boolean {
  const [left, right] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let index = 0; index < 3; index += 1)
    if ((left[index] ?? 0) !== (right[index] ?? 0)) return (left[index] ?? 0) > (right[index] ?? 0);
  return false;
}

/**
 * Apps are bound to their publisher. Each app is bound to the key that signed its newest version
 * (the highest version number, not the last installed); an app whose newest version was installed
 * unsigned, or published on the box before this version, stays unbound (and so refuses every
 * signed bundle: no key trusted here for `*` takes it over). Each version keeps the
 * name its key had, which the store shows instead of the manifest's words. Keys trusted before
 * signed for every app id, and keep doing so (`*`) until an administrator narrows them.
 */
export const migration: Migration = {
  version: 13,
  description: 'apps bound to their publisher keys',
  up(document) {
    const publishers = (document.publishers as Record<string, unknown>[] | undefined) ?? [];
    for (const publisher of publishers) publisher.appIds ??= ['*'];
    const nameOf = (keyId: unknown): string | null => {
      const found = publishers.find((publisher) => publisher.keyId === keyId);
      return typeof found?.name === 'string'
        ? found.name
        : typeof keyId === 'string'
          ? keyId
          : null;
    };
    for (const app of (document.apps as Record<string, unknown>[] | undefined) ?? []) {
      const versions = (app.versions as Version[] | undefined) ?? [];
      for (const version of versions)
        version.publisherName ??= version.signed === true ? nameOf(version.publisher) : null;
      let newest: Version | undefined;
      for (const version of versions)
        if (newest === undefined || newer(String(version.version), String(newest.version)))
          newest = version;
      app.publisherKeyId ??=
        newest?.signed === true && typeof newest.publisher === 'string' ? newest.publisher : null;
    }
  },
};

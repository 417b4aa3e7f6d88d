import type { Migration } from '../src/store/document.ts';

interface Content {
  kind: string;
  parent?: string | null;
  nodes?: { image: string }[];
}

interface Module {
  path: string;
  deleted: boolean;
  versions: { version: number; content: Content }[];
}

interface Pin {
  path: string;
  version: number;
}

/**
 * An app version pins every module version it deploys, and deploying the app reaches exactly
 * those on its publisher's authority (anything else needs the deployer's own rights). Apps
 * published before pinned only the module they deploy, and installed bundles only their own
 * modules, while their node images and parents were followed without any check, floating ones
 * to the newest version. Each app version now also pins every module its deployed module reaches,
 * at the version it reaches today, so it deploys what it deployed before this change and a later
 * save elsewhere no longer changes it.
 */
export const migration: Migration = {
  version: 12,
  description: 'app versions pin every module they reach',
  up(document) {
    const modules = (document.modules as Module[] | undefined) ?? [];
    const find = (reference: string): { pin: Pin; content: Content } | null => {
      const match = /^([^@]+)(?:@(\d+))?$/.exec(reference);
      if (!match) return null;
      const path = match[1]!;
      const version =
        match[2] === undefined
          ? modules.find((module) => module.path === path && !module.deleted)?.versions.at(-1)
          : modules
              .filter((module) => module.path === path)
              .flatMap((module) => module.versions)
              .find((candidate) => candidate.version === Number(match[2]));
      return version ? { pin: { path, version: version.version }, content: version.content } : null;
    };
    for (const app of (document.apps as { versions: { modules: Pin[] }[] }[] | undefined) ?? []) {
      for (const version of app.versions) {
        const top = version.modules[0];
        if (!top) continue;
        const pins = [...version.modules];
        const has = (pin: Pin) =>
          pins.some((known) => known.path === pin.path && known.version === pin.version);
        const pending = [`${top.path}@${top.version}`];
        const seen = new Set<string>();
        while (pending.length > 0) {
          const reference = pending.pop()!;
          if (seen.has(reference)) continue;
          seen.add(reference);
          const found = find(reference);
          if (!found) continue;
          if (!has(found.pin)) pins.push(found.pin);
          const content = found.content;
          if (content.kind === 'image' && typeof content.parent === 'string')
            pending.push(content.parent);
          if (content.kind === 'deployment')
            pending.push(...(content.nodes ?? []).map((node) => node.image));
        }
        version.modules = pins;
      }
    }
  },
};

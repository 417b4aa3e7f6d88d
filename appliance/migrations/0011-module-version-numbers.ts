import type { Migration } from '../src/store/document.ts';

interface Version {
  version: number;
  time: string;
  content: { kind: string; parent?: string | null; nodes?: { image: string }[] };
}

interface Module {
  path: string;
  deleted: boolean;
  versions: Version[];
}

/**
 * A path's version numbers are never used twice. Before, a module made again at a deleted path
 * started again at 1, so `/p/img@2` could name two different versions, and a pinned reference
 * followed whichever module was live. Now the modules kept at one path are numbered on in the
 * order they were made (each goes on after the highest number of those before it), and every
 * pinned reference is pointed at the version it named when it was made: the one held by the
 * module live at that time (the newest made no later than it). References are rewritten in module
 * versions (parents, node images), app versions' pinned modules, and runs (the module they
 * deployed and their nodes' image chains); the versions' contents are otherwise untouched.
 */
export const migration: Migration = {
  version: 11,
  description: 'module version numbers never reused',
  up(document) {
    const modules = (document.modules as Module[] | undefined) ?? [];
    const byPath = new Map<string, Module[]>();
    for (const module of modules)
      byPath.set(module.path, [...(byPath.get(module.path) ?? []), module]);
    const shifts = new Map<Module, number>();
    for (const records of byPath.values()) {
      if (records.length < 2) continue;
      let highest = 0;
      for (const record of records) {
        shifts.set(record, highest);
        highest += Math.max(0, ...record.versions.map((version) => version.version));
      }
    }
    if (shifts.size === 0) return;

    /** The number `path@number` has now, for a reference made at `time`. */
    const renumbered = (path: string, number: number, time: string): number => {
      const records = byPath.get(path);
      if (!records || records.length < 2) return number;
      const liveThen =
        [...records].reverse().find((record) => (record.versions[0]?.time ?? '') <= time) ??
        records[0]!;
      const holder = [liveThen, ...records.filter((record) => !record.deleted), ...records].find(
        (record) => record.versions.some((version) => version.version === number),
      );
      return holder ? number + shifts.get(holder)! : number;
    };
    const repin = (reference: string, time: string): string => {
      const match = /^(.+)@(\d+)$/.exec(reference);
      return match ? `${match[1]}@${renumbered(match[1]!, Number(match[2]), time)}` : reference;
    };

    for (const module of modules) {
      for (const version of module.versions) {
        const content = version.content;
        if (typeof content.parent === 'string')
          content.parent = repin(content.parent, version.time);
        for (const node of content.nodes ?? []) node.image = repin(node.image, version.time);
      }
    }
    for (const app of (document.apps as
      | { versions: { installedAt: string; modules: { path: string; version: number }[] }[] }[]
      | undefined) ?? []) {
      for (const version of app.versions) {
        for (const pin of version.modules)
          pin.version = renumbered(pin.path, pin.version, version.installedAt);
      }
    }
    for (const run of (document.runs as
      | { createdAt: string; module: { resolved: string }; nodes: { image: string[] }[] }[]
      | undefined) ?? []) {
      run.module.resolved = repin(run.module.resolved, run.createdAt);
      for (const node of run.nodes)
        node.image = node.image.map((label) => repin(label, run.createdAt));
    }
    for (const [record, shift] of shifts)
      for (const version of record.versions) version.version += shift;
  },
};

import { readFile } from 'node:fs/promises';
import { exactly, usageError } from './arguments.ts';
import type { Commands } from './context.ts';
import { call, CliError } from './http.ts';
import { table } from './output.ts';

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('FILE_UNREADABLE', `${file} cannot be read: ${(error as Error).message}.`);
  }
}

/** `modules`, `modules export` and `modules import`: the module library. */
export const moduleCommands: Commands = {
  async modules({ io, flags, args: rest, target, show }) {
    const [action, ...args] = rest;
    if (action === 'export') {
      const [path] = exactly(args, 1, 'modules export needs a path');
      const exported = await call(target, 'exportModules', { query: { path: path! } });
      io.out(flags.json ? JSON.stringify(exported, null, 2) : exported.yaml.trimEnd());
      return;
    }
    if (action === 'import') {
      const [file] = exactly(args, 1, 'modules import needs a YAML file (- for standard input)');
      if (!flags.message)
        throw usageError(
          'modules import needs --message: each module saved gets a version with it.',
        );
      const yaml = file === '-' ? await io.stdin() : await readText(file!);
      const saved = await call(target, 'importModules', {
        body: { yaml, message: flags.message },
      });
      show(saved, () => saved.map((module) => `${module.path}@${module.version}`).join('\n'));
      return;
    }
    if (rest.length > 1)
      throw usageError('modules takes at most one path, or export PATH, or import FILE.');
    const modules = await call(target, 'listModules', {
      query: rest[0] ? { under: rest[0] } : {},
    });
    show(modules, () =>
      table(
        ['PATH', 'KIND', 'VERSION'],
        modules.map((module) => [module.path, module.kind, String(module.latestVersion)]),
      ),
    );
  },
};

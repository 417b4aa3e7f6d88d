import type { Modules } from '../../library/modules.ts';
import type { ModuleContent as Content } from '../../domain/modules.ts';
import { BivouacError, validationError } from '../../errors.ts';
import { signedIn, type Handlers } from '../register-routes.ts';
import { ModuleContent } from '../schemas.ts';

/** Validates a module document read from YAML with the same schema as the JSON API. */
export function parseContent(value: unknown, field: string): Content {
  const result = ModuleContent.safeParse(value);
  if (result.success) return result.data as Content;
  const error = validationError('body', result.error);
  const fields = (error.details.fields as { field: string; message: string }[]).map((problem) => ({
    ...problem,
    field: problem.field.replace(/^body/, field),
  }));
  throw new BivouacError(
    'VALIDATION_FAILED',
    `Invalid module in the YAML: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}.`,
    { fields },
  );
}

/** The module tree: versions, history, diff, ACL, export and import. */
export function moduleHandlers(
  modules: Modules,
): Pick<
  Handlers,
  | 'listModules'
  | 'getModule'
  | 'saveModule'
  | 'moduleHistory'
  | 'diffModule'
  | 'setModuleAcl'
  | 'deleteModule'
  | 'exportModules'
  | 'importModules'
> {
  return {
    listModules: async ({ query }, context) =>
      modules.list(signedIn(context).subject, query.under ?? '/'),
    getModule: async ({ query }, context) => modules.get(signedIn(context).subject, query.ref),
    saveModule: async ({ query, body }, context) =>
      modules.save(signedIn(context).subject, query.path, body.content as Content, body.message),
    moduleHistory: async ({ query }, context) =>
      modules.versions(signedIn(context).subject, query.path),
    diffModule: async ({ query }, context) => ({
      diff: await modules.diff(signedIn(context).subject, query.path, query.from, query.to),
    }),
    setModuleAcl: async ({ query, body }, context) =>
      modules.setAcl(signedIn(context).subject, query.path, body.acl, body.expected),
    deleteModule: async ({ query }, context) => {
      await modules.delete(signedIn(context).subject, query.path);
      return null;
    },
    exportModules: async ({ query }, context) => ({
      yaml: modules.export(signedIn(context).subject, query.path),
    }),
    importModules: async ({ body }, context) =>
      modules.import(signedIn(context).subject, body.yaml, body.message, parseContent),
  };
}

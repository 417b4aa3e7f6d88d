import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the module library. */
export const moduleRoutes = {
  listModules: {
    method: 'GET',
    path: '/modules',
    tag: 'modules',
    auth: 'user',
    summary: 'The module tree (latest versions) you may view, optionally under a path',
    query: s.ModuleListQuery,
    response: s.ModuleSummary.array(),
  },
  getModule: {
    method: 'GET',
    path: '/modules/version',
    tag: 'modules',
    auth: 'user',
    summary:
      'One version of a module: ?ref=/a/b (latest) or /a/b@3 (also of a deleted module); secret defaults masked unless you may edit it',
    query: s.ModuleRefQuery,
    response: s.ModuleView,
  },
  saveModule: {
    method: 'PUT',
    path: '/modules',
    tag: 'modules',
    auth: 'user',
    summary:
      'Save a new version of a module (created if new); images and deployments are checked first',
    query: s.ModulePathQuery,
    body: s.SaveModule,
    response: s.ModuleView,
  },
  moduleHistory: {
    method: 'GET',
    path: '/modules/history',
    tag: 'modules',
    auth: 'user',
    summary: "A module's versions with author, time and message",
    query: s.ModulePathQuery,
    response: s.ModuleVersionInfo.array(),
  },
  diffModule: {
    method: 'GET',
    path: '/modules/diff',
    tag: 'modules',
    auth: 'user',
    summary:
      'A unified diff of two versions; DIFF_TOO_LARGE when they are too different to diff within the bounds',
    query: s.ModuleDiffQuery,
    response: s.ModuleDiff,
  },
  setModuleAcl: {
    method: 'PUT',
    path: '/modules/acl',
    tag: 'modules',
    auth: 'user',
    summary: "Set a module's ACL (needs manage)",
    query: s.ModulePathQuery,
    body: s.AclChange,
    response: s.ModuleView,
  },
  deleteModule: {
    method: 'DELETE',
    path: '/modules',
    tag: 'modules',
    auth: 'user',
    status: 204,
    summary: 'Hide a module; its versions stay for the runs that used them',
    query: s.ModulePathQuery,
    response: s.Empty,
  },
  exportModules: {
    method: 'GET',
    path: '/modules/export',
    tag: 'modules',
    auth: 'user',
    summary: 'The latest version of every module under a path, as YAML',
    query: s.ModulePathQuery,
    response: s.ModuleExport,
  },
  importModules: {
    method: 'POST',
    path: '/modules/import',
    tag: 'modules',
    auth: 'user',
    status: 201,
    summary: 'Save every module of an exported YAML stream as a new version, all or nothing',
    body: s.ModuleImport,
    response: s.ModuleView.array(),
  },
} as const satisfies Record<string, RouteContract>;

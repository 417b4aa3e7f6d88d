import type { z } from 'zod';
import * as s from './schemas.ts';

/**
 * Who may call a route:
 * - `none`: anyone, no credentials;
 * - `user`: any signed-in user (handlers check roles and ACLs further);
 * - `admin`: administrators only;
 * - `agent`: a guest agent with its instance token (valid only for its own run).
 */
export type RouteAuth = 'none' | 'user' | 'admin' | 'agent';

export interface RouteContract {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under /api/v1, fastify style (`/users/:id`). */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** Allowed before the first administrator exists. */
  duringSetup?: boolean;
  /**
   * Allowed in a session locked to the app store (kiosk mode); every other route is refused.
   * `screen-run`: only for a run (`:id`) started from that same screen; others are not found.
   */
  inKiosk?: true | 'screen-run';
  status?: 200 | 201 | 202 | 204;
  /**
   * The body is raw bytes (`application/octet-stream`, Content-Length required), handed to the
   * handler unread as a stream in `request.body` — for uploads too large to hold in memory.
   */
  upload?: true;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
}

/** Every JSON route of the API. The server implements each; the renderer's client calls them. */
export const contract = {
  getSetup: {
    method: 'GET',
    path: '/setup',
    tag: 'setup',
    auth: 'none',
    duringSetup: true,
    inKiosk: true,
    summary: 'First-run status and the HTTPS certificate fingerprint',
    response: s.SetupStatus,
  },
  createAdmin: {
    method: 'POST',
    path: '/setup',
    tag: 'setup',
    auth: 'none',
    duringSetup: true,
    status: 201,
    summary: 'Create the first administrator and sign in (only while none exists)',
    body: s.CreateAdmin,
    response: s.SessionInfo,
  },
  login: {
    method: 'POST',
    path: '/session',
    tag: 'session',
    auth: 'none',
    summary: 'Sign in; sets the session cookie',
    body: s.Credentials,
    response: s.SessionInfo,
  },
  getSession: {
    method: 'GET',
    path: '/session',
    tag: 'session',
    auth: 'user',
    inKiosk: true,
    summary: 'The signed-in user and the CSRF token',
    response: s.SessionInfo,
  },
  logout: {
    method: 'DELETE',
    path: '/session',
    tag: 'session',
    auth: 'user',
    status: 204,
    summary: 'Sign out; ends the session',
    response: s.Empty,
  },
  listUsers: {
    method: 'GET',
    path: '/users',
    tag: 'users',
    auth: 'admin',
    summary: 'List users',
    response: s.User.array(),
  },
  userNames: {
    method: 'GET',
    path: '/users/names',
    tag: 'users',
    auth: 'user',
    summary:
      "Every user's name, for showing owners and for sharing with someone by name (no roles or states)",
    response: s.UserName.array(),
  },
  createUser: {
    method: 'POST',
    path: '/users',
    tag: 'users',
    auth: 'admin',
    status: 201,
    summary: 'Create a user',
    body: s.CreateUser,
    response: s.User,
  },
  updateUser: {
    method: 'PATCH',
    path: '/users/:id',
    tag: 'users',
    auth: 'user',
    summary:
      'Change role or disable (admin), or change a password (admin, or yourself with currentPassword)',
    params: s.IdParams,
    body: s.UpdateUser,
    response: s.User,
  },
  deleteUser: {
    method: 'DELETE',
    path: '/users/:id',
    tag: 'users',
    auth: 'admin',
    status: 204,
    summary: 'Delete a user, their sessions and API tokens',
    params: s.IdParams,
    response: s.Empty,
  },
  listTokens: {
    method: 'GET',
    path: '/tokens',
    tag: 'tokens',
    auth: 'user',
    summary: 'Your API tokens (never their values)',
    response: s.ApiToken.array(),
  },
  createToken: {
    method: 'POST',
    path: '/tokens',
    tag: 'tokens',
    auth: 'user',
    status: 201,
    summary: 'Create an API token; its value is shown once',
    body: s.CreateToken,
    response: s.CreatedToken,
  },
  revokeToken: {
    method: 'DELETE',
    path: '/tokens/:id',
    tag: 'tokens',
    auth: 'user',
    status: 204,
    summary: 'Revoke one of your API tokens',
    params: s.IdParams,
    response: s.Empty,
  },
  getCapacity: {
    method: 'GET',
    path: '/capacity',
    tag: 'capacity',
    auth: 'user',
    summary: "The box's capacity: used, reserved and free per resource, overall and per user",
    response: s.CapacityReport,
  },
  setQuota: {
    method: 'PUT',
    path: '/users/:id/quota',
    tag: 'capacity',
    auth: 'admin',
    summary: "Set a user's quota inside the box's capacity",
    params: s.IdParams,
    body: s.Quota,
    response: s.Quota,
  },
  listClouds: {
    method: 'GET',
    path: '/clouds',
    tag: 'clouds',
    auth: 'user',
    inKiosk: true,
    summary:
      'Clouds (connector instances) with live status: reachable, latency, last error; their config (URI) for administrators only',
    response: s.Cloud.array(),
  },
  addCloud: {
    method: 'POST',
    path: '/clouds',
    tag: 'clouds',
    auth: 'admin',
    status: 201,
    summary:
      'Add a cloud: a connector kind plus its config; the answer says who and where it connects as (target). A libvirt URI is parsed and only allowed parameters pass',
    body: s.AddCloud,
    response: s.Cloud,
  },
  cloudRules: {
    method: 'GET',
    path: '/clouds/rules',
    tag: 'clouds',
    auth: 'admin',
    summary:
      "What a cloud's config may name on this box (the keys folder for keyfile= and known_hosts=), so a form can check a URI as it is typed",
    response: s.CloudRules,
  },
  testCloud: {
    method: 'POST',
    path: '/clouds/:id/test',
    tag: 'clouds',
    auth: 'admin',
    summary:
      'Check the connection to a cloud now (it opens a connection on demand: administrators only); a disabled cloud is never contacted (CLOUD_DISABLED)',
    params: s.IdParams,
    response: s.Cloud,
  },
  removeCloud: {
    method: 'DELETE',
    path: '/clouds/:id',
    tag: 'clouds',
    auth: 'admin',
    status: 204,
    summary: "Remove a cloud (never the box's own)",
    params: s.IdParams,
    response: s.Empty,
  },
  listImages: {
    method: 'GET',
    path: '/images',
    tag: 'images',
    auth: 'user',
    summary: 'Base images in the image store',
    response: s.Image.array(),
  },
  importImage: {
    method: 'POST',
    path: '/images/import',
    tag: 'images',
    auth: 'admin',
    status: 202,
    summary:
      'Import a base image from files on the box (a USB stick); progress arrives as image.progress events',
    body: s.ImportImage,
    response: s.Image,
  },
  uploadImage: {
    method: 'POST',
    path: '/images/upload',
    tag: 'images',
    auth: 'admin',
    status: 201,
    upload: true,
    summary:
      'Upload a qcow2 base image as the raw request body; answers once it is stored and verified',
    query: s.UploadImageQuery,
    response: s.Image,
  },
  deleteImage: {
    method: 'DELETE',
    path: '/images/:id',
    tag: 'images',
    auth: 'admin',
    status: 204,
    summary: 'Delete a base image (refused while a VM uses it)',
    params: s.IdParams,
    response: s.Empty,
  },
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
  createRun: {
    method: 'POST',
    path: '/runs',
    tag: 'runs',
    auth: 'user',
    status: 201,
    summary:
      'Deploy a module version: references resolved, parameters checked, the whole footprint reserved',
    body: s.CreateRun,
    response: s.RunView,
  },
  listRuns: {
    method: 'GET',
    path: '/runs',
    tag: 'runs',
    auth: 'user',
    summary: 'Runs you may view, newest first, filtered and paged',
    query: s.RunListQuery,
    response: s.RunList,
  },
  runCounts: {
    method: 'GET',
    path: '/runs/counts',
    tag: 'runs',
    auth: 'user',
    summary: 'How many runs you may view are in each state, in one answer',
    response: s.RunCounts,
  },
  getRun: {
    method: 'GET',
    path: '/runs/:id',
    tag: 'runs',
    auth: 'user',
    inKiosk: 'screen-run',
    summary: 'A run: state, nodes, instances and parameters (secrets masked)',
    params: s.IdParams,
    response: s.RunView,
  },
  terminateRun: {
    method: 'POST',
    path: '/runs/:id/terminate',
    tag: 'runs',
    auth: 'user',
    status: 202,
    summary: 'Terminate from any state; no VM is left behind',
    params: s.IdParams,
    response: s.RunView,
  },
  deleteRun: {
    method: 'DELETE',
    path: '/runs/:id',
    tag: 'runs',
    auth: 'user',
    status: 204,
    summary:
      'Delete a finished run for good, with its log and VM records, from the main document or the archive (needs manage)',
    params: s.IdParams,
    response: s.Empty,
  },
  archiveRun: {
    method: 'POST',
    path: '/runs/:id/archive',
    tag: 'runs',
    auth: 'user',
    status: 204,
    summary:
      'Move a finished run to the archive now (needs manage); runs move there by themselves archiveAfterHours after they end',
    params: s.IdParams,
    response: s.Empty,
  },
  purgeArchive: {
    method: 'POST',
    path: '/runs/archive/purge',
    tag: 'runs',
    auth: 'admin',
    summary: 'Delete for good every archived run that ended before a time',
    body: s.PurgeArchive,
    response: s.PurgedArchive,
  },
  setRunAcl: {
    method: 'PUT',
    path: '/runs/:id/acl',
    tag: 'runs',
    auth: 'user',
    summary: 'Share a run: set its ACL (needs manage); who loses view stops seeing it at once',
    params: s.IdParams,
    body: s.AclChange,
    response: s.RunView,
  },
  abortRun: {
    method: 'POST',
    path: '/runs/:id/abort',
    tag: 'runs',
    auth: 'user',
    summary: 'Abort with a reason (the first abort wins)',
    params: s.IdParams,
    body: s.AbortRun,
    response: s.RunView,
  },
  scaleRun: {
    method: 'POST',
    path: '/runs/:id/scale',
    tag: 'runs',
    auth: 'user',
    status: 202,
    summary:
      "Change a node's instance count while Ready; quota checked; the others run onNodeAdd/onNodeRemove",
    params: s.IdParams,
    body: s.ScaleRun,
    response: s.RunView,
  },
  upgradeRun: {
    method: 'POST',
    path: '/runs/:id/upgrade',
    tag: 'runs',
    auth: 'user',
    status: 202,
    summary:
      'Upgrade the immutable way: deploy the newer version beside, switch when Ready, roll back on failure',
    params: s.IdParams,
    body: s.UpgradeRun,
    response: s.RunView,
  },
  instanceConsole: {
    method: 'GET',
    path: '/runs/:id/console/:instance',
    tag: 'runs',
    auth: 'user',
    summary:
      "An instance's serial console: the tail, or (with after and wait) what comes next, for a live view",
    params: s.ConsoleParams,
    query: s.ConsoleQuery,
    response: s.ConsoleText,
  },
  runParams: {
    method: 'GET',
    path: '/runs/:id/params',
    tag: 'runs',
    auth: 'user',
    inKiosk: 'screen-run',
    summary: 'Runtime parameters (secrets masked)',
    params: s.IdParams,
    response: s.Params,
  },
  runLog: {
    method: 'GET',
    path: '/runs/:id/log',
    tag: 'runs',
    auth: 'user',
    inKiosk: 'screen-run',
    summary: 'Who did what and when, with recipe output',
    params: s.IdParams,
    response: s.RunLog,
  },
  runTimings: {
    method: 'GET',
    path: '/runs/:id/timings',
    tag: 'runs',
    auth: 'admin',
    summary:
      "Where the appliance spent time on a recent run while a guest or its deployer waited: spans in the appliance's monotonic clock",
    params: s.IdParams,
    response: s.RunTimings,
  },
  agentContext: {
    method: 'GET',
    path: '/agent/context',
    tag: 'agent',
    auth: 'agent',
    summary: "The instance's recipes, packages and ports",
    response: s.AgentContext,
  },
  agentRecipe: {
    method: 'GET',
    path: '/agent/recipes/:name',
    tag: 'agent',
    auth: 'agent',
    summary: "One of the instance's recipes (NOT_FOUND when its image has none of that name)",
    params: s.RecipeParams,
    response: s.AgentRecipe,
  },
  agentGetParam: {
    method: 'GET',
    path: '/agent/params/:key',
    tag: 'agent',
    auth: 'agent',
    summary:
      'Read a runtime parameter of your run (a secret only of your own instance), waiting up to ?wait seconds for it to be set; 503 SHUTTING_DOWN while the box stops: retry',
    params: s.ParamKeyParams,
    query: s.ParamWaitQuery,
    response: s.ParamValue,
  },
  agentSetParam: {
    // POST, not PUT: busybox wget, which tiny guests have, only does GET and POST.
    method: 'POST',
    path: '/agent/params/:key',
    tag: 'agent',
    auth: 'agent',
    status: 204,
    summary:
      "Set one of your own instance's declared outputs (or url.<port> of a declared port, as an http(s) or tcp URL); it also sets the inputs mapped to it",
    params: s.ParamKeyParams,
    body: s.SetParam,
    response: s.Empty,
  },
  agentComplete: {
    method: 'POST',
    path: '/agent/complete',
    tag: 'agent',
    auth: 'agent',
    status: 204,
    summary: 'This instance completed a state (Executing, SendingReports, Ready)',
    body: s.CompleteState,
    response: s.Empty,
  },
  agentAbort: {
    method: 'POST',
    path: '/agent/abort',
    tag: 'agent',
    auth: 'agent',
    status: 204,
    summary: 'Abort the run with a reason',
    body: s.AbortRun,
    response: s.Empty,
  },
  agentLog: {
    method: 'POST',
    path: '/agent/log',
    tag: 'agent',
    auth: 'agent',
    status: 204,
    summary: 'Recipe output for the run log',
    body: s.AgentLog,
    response: s.Empty,
  },
  listApps: {
    method: 'GET',
    path: '/apps',
    tag: 'apps',
    auth: 'user',
    inKiosk: true,
    summary:
      'The app store: published apps, latest version each (administrators may ask for unpublished ones too)',
    query: s.AppListQuery,
    response: s.AppSummary.array(),
  },
  getApp: {
    method: 'GET',
    path: '/apps/:id',
    tag: 'apps',
    auth: 'user',
    inKiosk: true,
    summary: 'An app: description, screenshots, its deploy form and cloud choices',
    params: s.AppIdParams,
    response: s.AppDetail,
  },
  appSources: {
    method: 'GET',
    path: '/apps/sources',
    tag: 'apps',
    auth: 'admin',
    summary:
      'Bundles (*.bvc) found on mounted removable media and in the import folders (importDirs)',
    response: s.BundleSource.array(),
  },
  importApp: {
    method: 'POST',
    path: '/apps/import',
    tag: 'apps',
    auth: 'admin',
    status: 201,
    summary: 'Install a bundle from a file on the box (a USB stick): verified, all or nothing',
    body: s.ImportApp,
    response: s.InstalledApp,
  },
  uploadApp: {
    method: 'POST',
    path: '/apps/upload',
    tag: 'apps',
    auth: 'admin',
    status: 201,
    upload: true,
    summary: 'Install a bundle sent as the raw request body',
    query: s.UploadAppQuery,
    response: s.InstalledApp,
  },
  preflightApp: {
    method: 'POST',
    path: '/apps/:id/preflight',
    tag: 'apps',
    auth: 'user',
    inKiosk: true,
    summary:
      'What deploying needs, checked before anything starts: capacity, base images, placement',
    params: s.AppIdParams,
    body: s.Placement,
    response: s.Preflight,
  },
  deployApp: {
    method: 'POST',
    path: '/apps/:id/deploy',
    tag: 'apps',
    auth: 'user',
    status: 201,
    inKiosk: true,
    summary: 'Deploy an app with its form values (after the same pre-flight)',
    params: s.AppIdParams,
    body: s.DeployApp,
    response: s.RunView,
  },
  publishApp: {
    method: 'POST',
    path: '/apps/publish',
    tag: 'apps',
    auth: 'admin',
    status: 201,
    summary: 'Publish a module version as an app (a new version of it if the id exists)',
    body: s.PublishApp,
    response: s.AppDetail,
  },
  setAppPublished: {
    method: 'PUT',
    path: '/apps/:id/published',
    tag: 'apps',
    auth: 'admin',
    summary: 'Publish or unpublish an app',
    params: s.AppIdParams,
    body: s.SetPublished,
    response: s.SetPublished,
  },
  listPublishers: {
    method: 'GET',
    path: '/publishers',
    tag: 'apps',
    auth: 'admin',
    summary: 'Trusted publisher keys',
    response: s.Publisher.array(),
  },
  trustPublisher: {
    method: 'POST',
    path: '/publishers',
    tag: 'apps',
    auth: 'admin',
    status: 201,
    summary: 'Trust a publisher key',
    body: s.TrustPublisher,
    response: s.Publisher,
  },
  distrustPublisher: {
    method: 'DELETE',
    path: '/publishers/:id',
    tag: 'apps',
    auth: 'admin',
    status: 204,
    summary: 'Stop trusting a publisher key',
    params: s.KeyIdParams,
    response: s.Empty,
  },
  getKiosk: {
    method: 'GET',
    path: '/kiosk',
    tag: 'kiosk',
    auth: 'user',
    inKiosk: true,
    summary: 'Whether a kiosk PIN is set and whether this session is locked to the app store',
    response: s.KioskStatus,
  },
  setKioskPin: {
    method: 'PUT',
    path: '/kiosk/pin',
    tag: 'kiosk',
    auth: 'admin',
    summary: 'Set the PIN that leaves kiosk mode (kept scrypt-hashed)',
    body: s.KioskPin,
    response: s.KioskStatus,
  },
  clearKioskPin: {
    method: 'DELETE',
    path: '/kiosk/pin',
    tag: 'kiosk',
    auth: 'admin',
    status: 204,
    summary: 'Clear the kiosk PIN; screens locked to the app store are released',
    response: s.Empty,
  },
  lockKiosk: {
    method: 'POST',
    path: '/kiosk/lock',
    tag: 'kiosk',
    auth: 'user',
    summary: 'Lock this browser session to the app store until the PIN is given (needs a PIN set)',
    response: s.KioskStatus,
  },
  unlockKiosk: {
    method: 'POST',
    path: '/kiosk/unlock',
    tag: 'kiosk',
    auth: 'user',
    inKiosk: true,
    summary: 'Leave kiosk mode with the PIN; wrong PINs are throttled',
    body: s.KioskPin,
    response: s.KioskStatus,
  },
  getBundleSettings: {
    method: 'GET',
    path: '/settings/bundles',
    tag: 'apps',
    auth: 'admin',
    summary: 'Whether unsigned bundles may install',
    response: s.BundleSettings,
  },
  setBundleSettings: {
    method: 'PUT',
    path: '/settings/bundles',
    tag: 'apps',
    auth: 'admin',
    summary: 'Allow or refuse unsigned bundles',
    body: s.BundleSettings,
    response: s.BundleSettings,
  },
  historyIndex: {
    method: 'GET',
    path: '/history/metrics',
    tag: 'box',
    auth: 'user',
    summary: 'The metrics with history, and the resolutions kept',
    response: s.HistoryIndex,
  },
  getHistory: {
    method: 'GET',
    path: '/history',
    tag: 'box',
    auth: 'user',
    summary:
      "A metric's history at one resolution (host.* for everyone, vm.<id>.* for who may view the VM)",
    query: s.HistoryQuery,
    response: s.HistorySeries,
  },
  boxMetrics: {
    method: 'GET',
    path: '/box/metrics',
    tag: 'box',
    auth: 'user',
    summary:
      "The host's latest sample: CPU, memory, disk, network, temperature when available; each new one is announced as a box.metrics event",
    response: s.BoxMetrics,
  },
  boxFacts: {
    method: 'GET',
    path: '/box',
    tag: 'box',
    auth: 'user',
    summary:
      "The host: version, OS, CPU, memory, the data disk's size and free space, uptime, certificate fingerprint, accelerator; for administrators also every disk, the network interfaces, listen addresses and the hypervisor URI",
    response: s.BoxFacts,
  },
  boxLogs: {
    method: 'GET',
    path: '/box/logs',
    tag: 'box',
    auth: 'admin',
    summary: "The appliance's recent log lines, newest first, optionally from a level up",
    query: s.BoxLogQuery,
    response: s.BoxLogs,
  },
  powerBox: {
    method: 'POST',
    path: '/box/power',
    tag: 'box',
    auth: 'admin',
    status: 202,
    summary:
      'Power the box off or reboot it (every VM on it stops); the UI asks for confirmation first',
    body: s.PowerRequest,
    response: s.PowerAccepted,
  },
  listVms: {
    method: 'GET',
    path: '/vms',
    tag: 'clouds',
    auth: 'user',
    summary: 'VMs Bivouac launched, and (for administrators) unknown and foreign VMs on its clouds',
    query: s.VmQuery,
    response: s.VmList,
  },
} as const satisfies Record<string, RouteContract>;

export type Contract = typeof contract;
export type RouteName = keyof Contract;

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

/** What a call to `name` sends. */
export interface RouteInput<N extends RouteName> {
  params: Infer<Contract[N] extends { params: infer P } ? P : undefined>;
  query: Infer<Contract[N] extends { query: infer Q } ? Q : undefined>;
  body: Infer<Contract[N] extends { body: infer B } ? B : undefined>;
}

/** What a caller passes for `name`: only the parts (params, query, body) the route has. */
export type CallInput<N extends RouteName> = {
  [K in keyof RouteInput<N> as RouteInput<N>[K] extends undefined ? never : K]: RouteInput<N>[K];
};

/** What a call to `name` answers. */
export type RouteOutput<N extends RouteName> = z.infer<Contract[N]['response']>;

/** What a client sends to a route: the path's params, the query, the body. */
export interface SentInput {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/** The URL of a route, from `/api/v1` on: its path with the params filled in, and the query string. */
export function routeUrl(name: RouteName, input: SentInput): string {
  const filled = contract[name].path.replace(/:([A-Za-z]+)/g, (_, key: string) =>
    encodeURIComponent(String(input.params?.[key] ?? '')),
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(input.query ?? {}))
    if (value !== undefined) query.set(key, String(value));
  return `/api/v1${filled}${query.size ? `?${query}` : ''}`;
}

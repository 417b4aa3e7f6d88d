/**
 * The API's schemas: they validate requests, shape responses, produce the OpenAPI document and
 * type the renderer's client. Pure zod, no Node imports: the renderer bundles these files.
 * One file per resource in schemas/; import them from here.
 */
export * from './schemas/common.ts';
export * from './schemas/accounts.ts';
export * from './schemas/capacity.ts';
export * from './schemas/clouds.ts';
export * from './schemas/vms.ts';
export * from './schemas/images.ts';
export * from './schemas/modules.ts';
export * from './schemas/runs.ts';
export * from './schemas/agent.ts';
export * from './schemas/apps.ts';
export * from './schemas/kiosk.ts';
export * from './schemas/box.ts';

import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes the guest agents call, with their instance token. */
export const agentRoutes = {
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
} as const satisfies Record<string, RouteContract>;

import { describe, expect, it } from 'vitest';
import { contract } from '../../appliance/src/api/contract.ts';
import { accountRoutes } from '../../appliance/src/api/contract/accounts.ts';
import { agentRoutes } from '../../appliance/src/api/contract/agent.ts';
import { appRoutes } from '../../appliance/src/api/contract/apps.ts';
import { boxRoutes } from '../../appliance/src/api/contract/box.ts';
import { capacityRoutes } from '../../appliance/src/api/contract/capacity.ts';
import { cloudRoutes } from '../../appliance/src/api/contract/clouds.ts';
import { imageRoutes } from '../../appliance/src/api/contract/images.ts';
import { kioskRoutes } from '../../appliance/src/api/contract/kiosk.ts';
import { moduleRoutes } from '../../appliance/src/api/contract/modules.ts';
import { runRoutes } from '../../appliance/src/api/contract/runs.ts';
import { settingRoutes } from '../../appliance/src/api/contract/settings.ts';
import { vmRoutes } from '../../appliance/src/api/contract/vms.ts';

const parts = {
  accountRoutes,
  agentRoutes,
  appRoutes,
  boxRoutes,
  capacityRoutes,
  cloudRoutes,
  imageRoutes,
  kioskRoutes,
  moduleRoutes,
  runRoutes,
  settingRoutes,
  vmRoutes,
};

describe('the API contract, one file per resource', () => {
  it('takes every route of every part: no name in two parts, so none overrides another', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const [part, routes] of Object.entries(parts))
      for (const name of Object.keys(routes)) {
        if (seen.has(name)) twice.push(`${name} in ${seen.get(name)} and ${part}`);
        seen.set(name, part);
      }
    expect(twice).toEqual([]);
    expect(Object.keys(contract).sort()).toEqual([...seen.keys()].sort());
  });

  it('gives each method and path one route', () => {
    const byEndpoint = new Map<string, string[]>();
    for (const [name, route] of Object.entries(contract)) {
      const endpoint = `${route.method} ${route.path}`;
      byEndpoint.set(endpoint, [...(byEndpoint.get(endpoint) ?? []), name]);
    }
    expect([...byEndpoint].filter(([, names]) => names.length > 1)).toEqual([]);
  });
});

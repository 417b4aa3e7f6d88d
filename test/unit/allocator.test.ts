import { describe, expect, it } from 'vitest';
import { applianceAllocatorEnvironment } from '../../electron/main/appliance-process.ts';
import { keepAllocatorToSelf } from '../../appliance/src/host/allocator.ts';

describe('keepAllocatorToSelf', () => {
  it("drops the launchers' allocator from what the appliance's commands inherit", () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin', ...applianceAllocatorEnvironment };
    keepAllocatorToSelf(env);
    expect(env).toEqual({ PATH: '/usr/bin' });
  });

  it('keeps other preloaded libraries', () => {
    const env: NodeJS.ProcessEnv = {
      LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2:/opt/trace/libtrace.so',
    };
    keepAllocatorToSelf(env);
    expect(env).toEqual({ LD_PRELOAD: '/opt/trace/libtrace.so' });
  });
});

import { describe, expect, it } from 'vitest';
import { DisposerStack } from '../../appliance/src/disposers.ts';

describe('DisposerStack', () => {
  it('stops the last started first, each awaited, and goes on past a stop that fails', async () => {
    const stack = new DisposerStack();
    const stopped: string[] = [];
    stack.defer('store', () => stopped.push('store'));
    stack.defer('listener', async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      stopped.push('listener');
    });
    stack.defer('sampler', () => {
      throw new Error('already stopped');
    });
    stack.defer('imports', () => stopped.push('imports'));
    const failed: string[] = [];
    await stack.dispose((part, error) => failed.push(`${part}: ${(error as Error).message}`));
    expect(stopped).toEqual(['imports', 'listener', 'store']);
    expect(failed).toEqual(['sampler: already stopped']);
    // Each stop runs once: disposing again does nothing.
    await stack.dispose();
    expect(stopped).toHaveLength(3);
  });
});

import { describe, expect, it } from 'vitest';
import { DisposerStack } from '../../../electron/main/disposer.ts';

describe('DisposerStack', () => {
  it('runs the stops newest first, waiting for each async one before the next', async () => {
    const order: string[] = [];
    const stack = new DisposerStack();
    stack.add(() => void order.push('appliance'));
    stack.add(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('ipc');
    });
    stack.add(() => void order.push('window'));
    await stack.dispose();
    expect(order).toEqual(['window', 'ipc', 'appliance']);
  });

  it('runs every stop once, however often dispose is called', async () => {
    let calls = 0;
    const stack = new DisposerStack();
    stack.add(() => {
      calls += 1;
    });
    const first = stack.dispose();
    expect(stack.dispose()).toBe(first);
    await first;
    await stack.dispose();
    expect(calls).toBe(1);
  });

  it('runs the other stops when one fails, then reports the failure', async () => {
    const order: string[] = [];
    const stack = new DisposerStack();
    stack.add(() => void order.push('first'));
    stack.add(() => {
      throw new Error('window would not close');
    });
    stack.add(() => void order.push('last'));
    await expect(stack.dispose()).rejects.toThrow('window would not close');
    expect(order).toEqual(['last', 'first']);
  });

  it('reports several failures together', async () => {
    const stack = new DisposerStack();
    stack.add(() => Promise.reject(new Error('a')));
    stack.add(() => Promise.reject(new Error('b')));
    const error = await stack.dispose().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((each: Error) => each.message)).toEqual(['b', 'a']);
  });

  it('refuses a stop added after shutdown began, so nothing outlives the shell', () => {
    const stack = new DisposerStack();
    expect(stack.isDisposed).toBe(false);
    void stack.dispose();
    expect(stack.isDisposed).toBe(true);
    expect(() => stack.add(() => undefined)).toThrow(/shutdown has already begun/);
  });
});

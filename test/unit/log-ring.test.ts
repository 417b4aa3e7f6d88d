import { describe, expect, it } from 'vitest';
import { LogRing, teeDestination } from '../../appliance/src/host/log-ring.ts';

const line = (level: number, time: number, msg: string, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ level, time, pid: 1, service: 'bivouac', ...extra, msg })}\n`;

describe('the ring of recent log lines', () => {
  it('keeps the newest lines up to its capacity, newest first', () => {
    const ring = new LogRing(3);
    for (let index = 1; index <= 5; index += 1) ring.write(line(30, index * 1000, `line ${index}`));
    expect(ring.recent(10).map((entry) => entry.message)).toEqual(['line 5', 'line 4', 'line 3']);
    expect(ring.recent(2).map((entry) => entry.message)).toEqual(['line 5', 'line 4']);
  });

  it('filters from a level up, reads levels, times and fields, and drops what is not JSON', () => {
    const ring = new LogRing(10);
    ring.write(
      line(20, 1000, 'debugging') +
        line(40, 2000, 'careful', { component: 'http' }) +
        'not json\n' +
        line(50, 3000, 'broken', { error: 'disk full' }),
    );
    expect(ring.recent(10).map((entry) => entry.level)).toEqual(['error', 'warn', 'debug']);
    expect(ring.recent(10, 'warn')).toEqual([
      {
        time: new Date(3000).toISOString(),
        level: 'error',
        message: 'broken',
        fields: { error: 'disk full' },
      },
      {
        time: new Date(2000).toISOString(),
        level: 'warn',
        message: 'careful',
        fields: { component: 'http' },
      },
    ]);
  });

  it('keeps an oversized line short', () => {
    const ring = new LogRing(10);
    ring.write(line(50, 5000, 'huge "quoted" failure', { stack: 'x'.repeat(100_000) }));
    const [entry] = ring.recent(1);
    expect(entry).toMatchObject({
      level: 'error',
      message: 'huge "quoted" failure',
      time: new Date(5000).toISOString(),
    });
    expect(String(entry!.fields.truncated)).toContain('stdout has all of it');
    expect(JSON.stringify(entry).length).toBeLessThan(1000);
  });

  it('passes every chunk to stdout unchanged', () => {
    const written: string[] = [];
    const ring = new LogRing(10);
    const tee = teeDestination({ write: (chunk) => written.push(chunk) }, ring);
    const chunk = line(30, 1000, 'hello');
    tee.write(chunk);
    expect(written).toEqual([chunk]);
    expect(ring.recent(1)[0]?.message).toBe('hello');
  });

  it('tells listeners of each new line, once, even when a listener writes a line itself', () => {
    const ring = new LogRing(10);
    const told: string[] = [];
    const stop = ring.onLine((entry) => {
      told.push(entry.message);
      ring.write(line(40, 2000, `about ${entry.message}`)); // kept, not told again
    });
    ring.write(line(30, 1000, 'one') + line(30, 1001, 'two'));
    expect(told).toEqual(['one', 'two']);
    expect(ring.recent(10).map((entry) => entry.message)).toEqual([
      'about two',
      'two',
      'about one',
      'one',
    ]);
    stop();
    ring.write(line(30, 3000, 'three'));
    expect(told).toEqual(['one', 'two']);
  });
});

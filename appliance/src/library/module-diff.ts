import { stringify } from 'yaml';
import { limits } from '../domain/limits.ts';
import { BivouacError } from '../errors.ts';
import type { ModuleView } from './module-views.ts';

/**
 * A unified diff of two versions' YAML, `a` and `b` of `path`, as their reader sees them
 * (masked as `get` masks them). Bounded: beyond `limits.diffMaxEdits` changed lines or
 * `limits.diffTimeoutMs` it gives up with DIFF_TOO_LARGE instead of holding the box's one
 * thread. The diff library is loaded on the first diff asked for, not by every box.
 */
export async function diffVersions(path: string, a: ModuleView, b: ModuleView): Promise<string> {
  const from = a.version;
  const to = b.version;
  const before = stringify(a.content);
  const after = stringify(b.content);
  const { createTwoFilesPatch } = await import('diff');
  const patch = surelyTooDifferent(before, after)
    ? undefined
    : createTwoFilesPatch(`${path}@${from}`, `${path}@${to}`, before, after, a.time, b.time, {
        maxEditLength: limits.diffMaxEdits,
        timeout: limits.diffTimeoutMs,
      });
  if (patch === undefined) {
    throw new BivouacError(
      'DIFF_TOO_LARGE',
      `${path}@${from} and @${to} are too different to show as a diff (more than ${limits.diffMaxEdits} changed lines, or more than ${limits.diffTimeoutMs} ms of work); read the two versions instead.`,
      {
        path,
        from,
        to,
        maxEdits: limits.diffMaxEdits,
        timeoutMs: limits.diffTimeoutMs,
      },
    );
  }
  return patch;
}

/**
 * Whether two texts surely need more than `limits.diffMaxEdits` line edits, found in one pass:
 * every line of one without a partner in the other must be removed or added, whatever the diff
 * (the last line, which has no newline, may count once more on each side).
 */
function surelyTooDifferent(before: string, after: string): boolean {
  const unmatched = new Map<string, number>();
  for (const line of before.split('\n')) unmatched.set(line, (unmatched.get(line) ?? 0) + 1);
  for (const line of after.split('\n')) unmatched.set(line, (unmatched.get(line) ?? 0) - 1);
  let edits = 0;
  for (const count of unmatched.values()) edits += Math.abs(count);
  return edits - 2 > limits.diffMaxEdits;
}

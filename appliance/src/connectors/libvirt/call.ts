import { BivouacError } from '../../errors.ts';

/**
 * libvirt error codes the connector tells apart (virterror.h). The binding often reports -1 as
 * the code, so the messages are checked too.
 */
const noDomain = 42;
const connectionCodes = new Set([1, 5, 38, 39, 40, 45]);

interface LibvirtLikeError {
  code?: number;
  message?: string;
}

/** Is this a broken connection (reconnect) rather than a refusal? */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as LibvirtLikeError;
  return (
    (code !== undefined && connectionCodes.has(code)) ||
    /socket|connection|closed|broken pipe|end of file/i.test(message ?? '')
  );
}

/**
 * Maps a libvirt failure onto the registry's typed errors. `connected`: the daemon was seen to
 * answer after the failure, so a failure that reads like a broken connection is one of its own
 * (it could not reach virtlogd, say), a refusal.
 */
export function toTypedError(
  error: unknown,
  cloud: string,
  what: string,
  nativeId?: string,
  connected = false,
): BivouacError {
  if (error instanceof BivouacError) return error;
  const { code, message } = (error ?? {}) as LibvirtLikeError;
  if (code === noDomain || /domain not found|no domain with matching/i.test(message ?? '')) {
    return new BivouacError(
      'VM_NOT_FOUND',
      `The cloud ${cloud} has no VM ${nativeId ?? ''}`.trim() + '.',
      { cloud, nativeId: nativeId ?? null },
    );
  }
  if (isConnectionError(error) && !connected) {
    return new BivouacError(
      'CLOUD_UNREACHABLE',
      `The cloud ${cloud} is unreachable (${what}): ${message ?? String(error)}`,
      { cloud, reason: message ?? String(error) },
    );
  }
  return new BivouacError(
    'CLOUD_REFUSED',
    `The cloud ${cloud} refused ${what}: ${message ?? String(error)}`,
    { cloud, reason: message ?? String(error), code: code ?? null },
  );
}

/** Rejects with CLOUD_UNREACHABLE when `work` takes longer than `ms`; libvirt calls must never hang a request. */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  cloud: string,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BivouacError(
            'CLOUD_UNREACHABLE',
            `The cloud ${cloud} did not answer ${what} within ${ms} ms.`,
            { cloud, reason: 'timeout', timeoutMs: ms },
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

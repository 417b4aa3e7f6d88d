import type { Logger } from 'pino';
import type { DisposerStack } from './disposers.ts';

const shutdownDeadlineMs = 4500;

/**
 * On SIGTERM or SIGINT, runs the parts' stops, last first, and lets the process end; a shutdown
 * that takes longer than 4.5 s exits anyway, with status 1.
 */
export function stopOnSignals(disposers: DisposerStack, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting anyway');
      process.exit(1);
    }, shutdownDeadlineMs);
    deadline.unref();
    await disposers.dispose((part, error) =>
      logger.error({ part, error: (error as Error).message }, 'a part did not stop cleanly'),
    );
    logger.info('stopped');
    logger.flush();
    clearTimeout(deadline);
    process.exitCode = 0;
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

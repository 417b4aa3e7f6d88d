import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';

/** Who holds a data dir: what a second start is told. */
export interface LockHolder {
  pid: number;
  startedAt: string;
  /** The holder's URLs once it listens. */
  urls: string[];
  /** Its local listener, which the box's screen opens; null when it has none (or not yet). */
  screenUrl: string | null;
}

/** A second appliance on the same data dir: refused before it touches anything. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | null,
  ) {
    super(
      holder
        ? `The data dir ${dataDir} is in use by another appliance (process ${holder.pid}, started ${holder.startedAt}${holder.urls.length ? `, at ${holder.urls.join(' and ')}` : ''}). Stop it first, or give this one another BIVOUAC_DATA_DIR.`
        : `The data dir ${dataDir} is in use by another appliance, which did not say who it is. Stop it first, or give this one another BIVOUAC_DATA_DIR.`,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * The lock's name: an abstract unix socket (Linux) named after the data dir's real path. The
 * kernel frees it when its process ends however it ends (SIGKILL, power cut), so no stale lock
 * is ever left to clear, and binding it is atomic: of two starts, one wins.
 */
async function lockAddress(dataDir: string): Promise<string> {
  const path = await realpath(dataDir);
  return `\0bivouac-data-dir-${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}

/** Asks the holder who it is; null if it does not say within a second. */
export async function lockHolder(dataDir: string): Promise<LockHolder | null> {
  const address = await lockAddress(dataDir);
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(address);
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.length > 64 * 1024) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(text) as Partial<LockHolder>;
        resolve(
          typeof parsed.pid === 'number' &&
            typeof parsed.startedAt === 'string' &&
            Array.isArray(parsed.urls)
            ? {
                pid: parsed.pid,
                startedAt: parsed.startedAt,
                urls: parsed.urls.map(String),
                screenUrl: typeof parsed.screenUrl === 'string' ? parsed.screenUrl : null,
              }
            : null,
        );
      } catch {
        resolve(null);
      }
    });
  });
}

export interface DataDirLock {
  /** Updates what the holder says of itself (its URLs once it listens, and the screen's). */
  describe(urls: readonly string[], screenUrl: string | null): void;
  release(): Promise<void>;
}

/**
 * Takes the data dir for this process, or throws DataDirInUseError naming the process that
 * holds it. Whoever connects to the lock is told who holds it, as JSON.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const address = await lockAddress(dataDir);
  const self: LockHolder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    urls: [],
    screenUrl: null,
  };
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(JSON.stringify(self));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    throw new DataDirInUseError(dataDir, await lockHolder(dataDir));
  });
  server.unref();
  return {
    describe(urls, screenUrl) {
      self.urls = [...urls];
      self.screenUrl = screenUrl;
    },
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { constants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { BivouacError } from '../errors.ts';

/** Where removable media are mounted on Linux desktops and boxes (udisks, fstab, by hand). */
export const removableMediaRoots: readonly string[] = ['/media', '/mnt', '/run/media'];

export interface ImportFoldersOptions {
  /** The folders an import by path may read from (removable media plus configured folders). */
  roots: readonly string[];
  /** Folders never read from, even inside a root (the data dir: other tenants' disks, the store, keys). */
  excluded: readonly string[];
  /** A read that makes no progress for this long is abandoned (IMPORT_TIMEOUT). */
  stallMs?: number;
}

/** A regular file an import may read: checked when named, checked again when opened. */
export interface ImportFile {
  /** The path as given (shown to the administrator who gave it). */
  label: string;
  /** The path with every symbolic link resolved. */
  realPath: string;
  sizeBytes: number;
  /** The file's bytes, at most `sizeBytes` of them, abandoned if they stall. */
  open(): Promise<Readable>;
}

const defaultStallMs = 60_000;
const listDepth = 3;
const listLimit = 500;
const listDeadlineMs = 5_000;

/**
 * The only files an administrator's import by path (an image, a bundle) may read: regular files
 * of bounded size inside removable media or a configured import folder, after symbolic links are
 * resolved, and never inside the data dir. A folder, a device or a FIFO is refused before it is
 * opened, so nothing blocks on it or reads it forever.
 */
export class ImportFolders {
  constructor(private readonly options: ImportFoldersOptions) {}

  /** The configured roots, as given (for messages). */
  get roots(): readonly string[] {
    return this.options.roots;
  }

  /** Checks `path` and returns it as an import file; throws a typed error saying why not. */
  async file(path: string, maxBytes: number): Promise<ImportFile> {
    const roots = await this.realRoots();
    // A path outside every root is refused before the file system is asked, so the answer says
    // nothing about what exists there.
    if (
      !roots.some(
        (root) => isInside(resolve(path), root.given) || isInside(resolve(path), root.real),
      )
    )
      throw this.outside(path);
    const realPath = await realpath(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
        throw new BivouacError('NOT_FOUND', `${path} does not exist.`, { resource: 'file', path });
      throw new BivouacError(
        'NOT_FOUND',
        `${path} cannot be read (${error.code ?? error.message}).`,
        { resource: 'file', path },
      );
    });
    if (
      !roots.some((root) => isInside(realPath, root.real)) ||
      (await this.realExcluded()).some((folder) => isInside(realPath, folder))
    )
      throw this.outside(path);
    const info = await lstat(realPath);
    if (!info.isFile()) throw notRegular(path, info);
    if (info.size > maxBytes) {
      throw new BivouacError(
        'FILE_TOO_LARGE',
        `${path} is ${info.size} bytes; an import takes at most ${maxBytes}.`,
        { path, sizeBytes: info.size, limitBytes: maxBytes },
      );
    }
    const stallMs = this.options.stallMs ?? defaultStallMs;
    return {
      label: path,
      realPath,
      sizeBytes: info.size,
      open: async () => {
        // O_NONBLOCK: should the name now be a FIFO, opening it does not wait for a writer.
        const handle = await open(
          realPath,
          constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
        );
        const now = await handle.stat().catch(async (error: unknown) => {
          await handle.close();
          throw error;
        });
        if (!now.isFile() || now.ino !== info.ino || now.dev !== info.dev) {
          await handle.close();
          throw new BivouacError(
            'NOT_A_REGULAR_FILE',
            `${path} changed after it was checked; import it again.`,
            { path, type: now.isFile() ? 'file' : typeOf(now) },
          );
        }
        const source =
          info.size === 0
            ? (await handle.close(), Readable.from([]))
            : handle.createReadStream({ start: 0, end: info.size - 1 });
        return watched(source, stallMs, path);
      },
    };
  }

  /** Regular files ending in `suffix` under the roots (a few levels deep), for a picker. */
  async list(suffix: string): Promise<{ path: string; sizeBytes: number }[]> {
    const found: { path: string; sizeBytes: number }[] = [];
    const excluded = await this.realExcluded();
    const deadline = Date.now() + listDeadlineMs;
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > listDepth || found.length >= listLimit || Date.now() > deadline) return;
      if (excluded.some((folder) => isInside(dir, folder))) return;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (found.length >= listLimit || Date.now() > deadline) return;
        const path = join(dir, entry.name);
        // Dirents do not follow links: a link is neither listed nor entered.
        if (entry.isDirectory()) await walk(path, depth + 1);
        else if (entry.isFile() && entry.name.endsWith(suffix)) {
          const info = await lstat(path).catch(() => null);
          if (info?.isFile()) found.push({ path, sizeBytes: info.size });
        }
      }
    };
    for (const root of await this.realRoots()) await walk(root.real, 0);
    return found;
  }

  private outside(path: string): BivouacError {
    return new BivouacError(
      'IMPORT_PATH_REFUSED',
      `${path} is outside the folders the box imports from (${this.options.roots.join(', ')}); copy the file there, or add its folder to importDirs.`,
      {
        path,
        allowed: [...this.options.roots],
      },
    );
  }

  private async realRoots(): Promise<{ given: string; real: string }[]> {
    const roots = await Promise.all(
      this.options.roots.map(async (given) => ({
        given: resolve(given),
        real: await realpath(given).catch(() => null),
      })),
    );
    return roots.filter((root): root is { given: string; real: string } => root.real !== null);
  }

  private async realExcluded(): Promise<string[]> {
    return Promise.all(
      this.options.excluded.map((folder) => realpath(folder).catch(() => resolve(folder))),
    );
  }
}

function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

function typeOf(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (info.isDirectory()) return 'directory';
  if (info.isFIFO()) return 'fifo';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'device';
  if (info.isSymbolicLink()) return 'link';
  return 'other';
}

function notRegular(path: string, info: Parameters<typeof typeOf>[0]): BivouacError {
  const type = typeOf(info);
  return new BivouacError(
    'NOT_A_REGULAR_FILE',
    `${path} is a ${type}, not a regular file; only regular files are imported.`,
    { path, type },
  );
}

/** `source` with a watchdog: no chunk for `stallMs` ends it with IMPORT_TIMEOUT. */
function watched(source: Readable, stallMs: number, path: string): Readable {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const error = new BivouacError(
        'IMPORT_TIMEOUT',
        `Reading ${path} made no progress for ${Math.round(stallMs / 1000)} s; the import was abandoned.`,
        { path, stallSeconds: Math.round(stallMs / 1000) },
      );
      guard.destroy(error);
    }, stallMs);
    timer.unref();
  };
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      arm();
      callback(null, chunk);
    },
  });
  source.on('error', (error) => guard.destroy(error));
  guard.on('close', () => {
    clearTimeout(timer);
    source.destroy();
  });
  arm();
  return source.pipe(guard);
}

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { privateTo, visibleToAll, type Subject } from '../domain/access.ts';
import {
  describeFindings,
  findImage,
  imageLimits,
  imageNamePattern,
  imageNameRule,
  type ImageFinding,
} from '../domain/images.ts';
import { limits } from '../domain/limits.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { BootImage } from '../domain/images.ts';
import {
  domainEvent,
  type DomainEvent,
  type EventPayloads,
  type EventType,
  type ImageEventData,
} from '../domain/events.ts';
import type { MainDocument, StoredImage } from '../store/document.ts';
import { syncDirectory } from '../store/durable-json-file.ts';
import type { EventLog } from '../store/event-log.ts';
import type { ImportFile } from './import-files.ts';
import type { Store } from '../store/store.ts';
import { inspectImage, unsafeImage, type ImageVerdict } from './image-check.ts';

/** The files an image is made of: one qcow2 disk, or a kernel and its initrd. */
export type ImageRole = 'disk' | 'kernel' | 'initrd';
export type ImageSources =
  | { kind: 'disk'; disk: Source }
  | { kind: 'kernel'; kernel: Source; initrd: Source; cmdline: string };

/** Where one file's bytes come from, with its size when known and the sha256 it must have. */
export interface Source {
  open(): Readable | Promise<Readable>;
  sizeBytes: number;
  sha256?: string | undefined;
  /** Shown in progress events and errors. */
  label: string;
}

export interface ImageStoreOptions {
  /** `<dataDir>/images`. */
  directory: string;
  /** How many live VMs use an image (delete is refused while any do). */
  usage: (imageId: string) => number;
  /** Free space left after an import, so the box keeps working (default: limits.diskReserveBytes). */
  reserveBytes?: number;
  /** Free bytes on the images' filesystem (tests pass their own). */
  freeBytes?: (directory: string) => Promise<number>;
  now?: () => Date;
}

const fileNames: Record<ImageRole, string> = {
  disk: 'disk.qcow2',
  kernel: 'kernel',
  initrd: 'initrd',
};
const progressEveryMs = 250;
/**
 * Base images are shared, read-only backing files, not secrets: the hypervisor, which may run
 * as its own user (libvirt-qemu on a box), must reach them.
 */
const baseImageDirMode = 0o755;

/**
 * Base images in the data dir, one folder each. An import streams every file through a sha256
 * into a hidden folder, checks checksums and the image rule (`qemu-img info`: no backing file, no
 * external data file, no encryption, the declared format, a bounded virtual size), then renames
 * the folder into place and records the image; a failed or interrupted import leaves nothing
 * behind but an `image.failed` event for administrators.
 */
export class ImageStore {
  private readonly active = new Map<string, AbortController>();

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly options: ImageStoreOptions,
  ) {}

  /**
   * Removes imports a restart interrupted (telling administrators by an `image.failed` event),
   * failed records older versions kept, and the temporary folders.
   */
  async recover(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true, mode: baseImageDirMode });
    for (const entry of await readdir(this.options.directory)) {
      if (entry.startsWith('.incoming-'))
        await rm(join(this.options.directory, entry), { recursive: true, force: true });
    }
    const interrupted = this.store.data.images.filter((image) => image.status === 'importing');
    const isKept = (image: StoredImage): boolean =>
      image.status === 'ready' || image.status === 'unusable';
    if (this.store.data.images.every(isKept)) return;
    await this.store.update((document) => {
      document.images = document.images.filter(isKept);
    });
    for (const image of interrupted) {
      await rm(join(this.options.directory, image.id), { recursive: true, force: true });
      this.announce('image.failed', image, {
        status: 'failed',
        error: `The import of ${image.name} was interrupted by a restart; import it again.`,
        code: 'BAD_IMAGE',
      });
    }
  }

  /**
   * Checks every stored image again by the image rule (boxes keep images imported before the rule
   * existed). One that fails is marked `unusable` with the reason, and no run can use it; one that
   * passes again is `ready`. Runs at start, before anything launches a VM.
   */
  async recheck(): Promise<{ unusable: { image: string; reason: string }[] }> {
    const unusable: { image: string; reason: string }[] = [];
    for (const image of this.store.data.images.filter(
      (candidate) => candidate.status === 'ready' || candidate.status === 'unusable',
    )) {
      const { reason, virtualBytes } = await this.problemOf(image);
      const verdictKept =
        (reason === null ? 'ready' : 'unusable') === image.status && reason === image.error;
      if (verdictKept && virtualBytes === image.virtualBytes) continue;
      const changed = await this.finish(
        image.id,
        reason === null
          ? { status: 'ready', error: null, virtualBytes }
          : { status: 'unusable', error: reason, virtualBytes },
      );
      if (verdictKept) continue; // only its size was read (an image stored by an older version)
      if (reason !== null) unusable.push({ image: image.name, reason });
      if (reason === null) this.announce('image.ready', changed, {});
      else this.announce('image.unusable', changed, { reason });
    }
    return { unusable };
  }

  /**
   * Why a stored image's files fail the rule, in words that name no host path (null if they
   * pass), and a disk's virtual size as the check read it.
   */
  private async problemOf(
    image: StoredImage,
  ): Promise<{ reason: string | null; virtualBytes: number | null }> {
    const roles: ImageRole[] = image.kind === 'disk' ? ['disk'] : ['kernel', 'initrd'];
    let virtualBytes: number | null = image.virtualBytes;
    for (const role of roles) {
      const path = join(this.options.directory, image.id, fileNames[role]);
      const info = await lstat(path).catch(() => null);
      if (!info?.isFile())
        return { reason: `its ${role} file is missing from the image store`, virtualBytes };
      try {
        await checkFormat(role, path, `The ${role} file`);
      } catch (error) {
        return {
          reason: `the ${role} file ${error instanceof BivouacError ? describeFindings(['format'], expectedFormat(role)) : 'cannot be read'}`,
          virtualBytes,
        };
      }
      const verdict = await inspectImage(path, expectedFormat(role));
      if (verdict.found.length > 0)
        return { reason: `the ${role} file was refused: ${verdict.reason}`, virtualBytes };
      if (role === 'disk') virtualBytes = verdict.facts?.virtualBytes ?? null;
    }
    return { reason: null, virtualBytes };
  }

  /**
   * The images `subject` may list: administrators every one; others those that are or were ready
   * (an import under way is its administrator's business until it is ready).
   */
  list(subject?: Subject): readonly StoredImage[] {
    if (!subject || subject.role === 'admin') return this.store.data.images;
    return this.store.data.images.filter(
      (image) => image.status === 'ready' || image.status === 'unusable',
    );
  }

  get(id: string): StoredImage {
    const image = this.store.data.images.find((candidate) => candidate.id === id);
    if (!image)
      throw new BivouacError('NOT_FOUND', `No image with id ${id}.`, { resource: 'image', id });
    return image;
  }

  /**
   * A ready image by id, or by name (modules from bundles name their images, since ids differ
   * from box to box).
   */
  find(idOrName: string): StoredImage | undefined {
    return findImage(this.store.data.images, idOrName);
  }

  /** Refuses a run or a deploy that names an image the start-up check found unsafe. */
  refuseUnusable(idOrName: string | null | undefined): void {
    const image = idOrName ? this.find(idOrName) : undefined;
    if (image?.status === 'unusable') {
      throw new BivouacError(
        'IMAGE_UNUSABLE',
        `Base image ${image.name} cannot be used: ${image.error ?? 'it failed the image check'}. Delete it and import a safe one.`,
        { image: image.name, reason: image.error },
      );
    }
  }

  /** What a connector needs to boot from a ready image (by id or name). */
  bootImage(idOrName: string): BootImage {
    const image = this.find(idOrName);
    if (!image)
      throw new BivouacError(
        'BAD_IMAGE',
        `No base image "${idOrName}" in the image store; import it first.`,
        { image: idOrName },
      );
    const id = image.id;
    this.refuseUnusable(id);
    if (image.status !== 'ready')
      throw new BivouacError('BAD_IMAGE', `Image ${image.name} is not ready (${image.status}).`, {
        image: id,
        status: image.status,
      });
    const folder = join(this.options.directory, id);
    return image.kind === 'disk'
      ? { kind: 'disk', path: join(folder, fileNames.disk), format: 'qcow2' }
      : {
          kind: 'kernel',
          kernel: join(folder, fileNames.kernel),
          initrd: join(folder, fileNames.initrd),
          cmdline: image.cmdline ?? '',
        };
  }

  /**
   * Checks the name and the free space, records the image as importing, and returns it at once;
   * `done` resolves when the image is ready, or rejects with the typed error once the record
   * says it failed.
   */
  async startImport(
    name: string,
    sources: ImageSources,
    actor: string,
  ): Promise<{ image: StoredImage; done: Promise<StoredImage> }> {
    const files = filesOf(sources);
    const total = files.reduce((sum, [, source]) => sum + source.sizeBytes, 0);
    await this.checkSpace(total);
    const image: StoredImage = {
      id: newId(),
      name,
      kind: sources.kind,
      status: 'importing',
      error: null,
      sizeBytes: total,
      virtualBytes: null,
      sha256: {},
      cmdline: sources.kind === 'kernel' ? sources.cmdline : null,
      createdAt: (this.options.now ?? (() => new Date()))().toISOString(),
      createdBy: actor,
    };
    await this.store.update((document) => {
      if (document.images.some((existing) => existing.name === name)) {
        throw new BivouacError(
          'IMAGE_NAME_TAKEN',
          `An image named "${name}" exists already; choose another name or delete it first.`,
          { field: 'name' },
        );
      }
      document.images.push(image);
    });
    this.announce('image.importing', image, { receivedBytes: 0, totalBytes: total });
    const abort = new AbortController();
    this.active.set(image.id, abort);
    const done = this.runImport(image, files, total, abort.signal).finally(() =>
      this.active.delete(image.id),
    );
    return { image, done };
  }

  /** Refused while a live VM uses the image; an import under way is cancelled. */
  async delete(id: string): Promise<void> {
    const image = this.get(id);
    const users = this.options.usage(id);
    if (users > 0)
      throw new BivouacError(
        'IMAGE_IN_USE',
        `Image ${image.name} is used by ${users} VM(s); terminate them first.`,
        { image: id, vms: users },
      );
    this.active.get(id)?.abort(new Error('the import was cancelled'));
    await this.store.update((document) => {
      document.images = document.images.filter((candidate) => candidate.id !== id);
    });
    await rm(join(this.options.directory, id), { recursive: true, force: true });
    this.announce('image.deleted', image, {});
  }

  /**
   * Imports the images shipped with the product (folders with an `image.json`, such as the tiny
   * guest from build/tiny-guest.sh) that the store lacks, or holds in another build. An image a
   * VM uses is left as it is; the next start replaces it.
   */
  async installBuiltIn(
    directory: string,
  ): Promise<{ installed: string[]; failed: { image: string; error: string }[] }> {
    const installed: string[] = [];
    const failed: { image: string; error: string }[] = [];
    const folders = (await readdir(directory, { withFileTypes: true }).catch(() => []))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    for (const folder of folders.sort()) {
      const description = await readFile(join(directory, folder, 'image.json'), 'utf8').catch(
        () => null,
      );
      if (description === null) continue;
      try {
        const shipped = BuiltInImage.parse(JSON.parse(description));
        const existing = this.store.data.images.find((image) => image.name === shipped.name);
        if (
          existing &&
          existing.sha256.kernel === shipped.sha256.kernel &&
          existing.sha256.initrd === shipped.sha256.initrd
        )
          continue;
        if (existing?.status === 'importing' || (existing && this.options.usage(existing.id) > 0))
          continue;
        if (existing) await this.delete(existing.id);
        const file = (name: string, sha256: string) =>
          fileSource(join(directory, folder, name), sha256);
        const sources: ImageSources = {
          kind: 'kernel',
          kernel: await file(shipped.kernel, shipped.sha256.kernel),
          initrd: await file(shipped.initrd, shipped.sha256.initrd),
          cmdline: shipped.cmdline,
        };
        await (
          await this.startImport(shipped.name, sources, 'system')
        ).done;
        installed.push(shipped.name);
      } catch (error) {
        failed.push({
          image: folder,
          error:
            error instanceof z.ZodError
              ? `image.json: ${z.prettifyError(error)}`
              : (error as Error).message,
        });
      }
    }
    return { installed, failed };
  }

  /** Waits for imports under way (shutdown). */
  async close(): Promise<void> {
    for (const controller of this.active.values())
      controller.abort(new Error('the appliance is shutting down'));
  }

  /** Free bytes where images and VM disks live (the data dir's filesystem). */
  async freeSpace(): Promise<number> {
    await mkdir(this.options.directory, { recursive: true, mode: baseImageDirMode });
    return (this.options.freeBytes ?? freeBytesOf)(this.options.directory);
  }

  private async checkSpace(needed: number): Promise<void> {
    await mkdir(this.options.directory, { recursive: true, mode: baseImageDirMode });
    const free = await (this.options.freeBytes ?? freeBytesOf)(this.options.directory);
    const reserve = this.options.reserveBytes ?? limits.diskReserveBytes;
    if (needed + reserve > free) {
      throw new BivouacError(
        'NO_SPACE',
        `Not enough disk space: the image needs ${mib(needed)} MiB and ${mib(reserve)} MiB must stay free, but only ${mib(free)} MiB are free.`,
        {
          neededBytes: needed,
          freeBytes: free,
          reserveBytes: reserve,
        },
      );
    }
  }

  private async runImport(
    image: StoredImage,
    files: [ImageRole, Source][],
    total: number,
    signal: AbortSignal,
  ): Promise<StoredImage> {
    const incoming = join(this.options.directory, `.incoming-${image.id}`);
    const sha256: Record<string, string> = {};
    let virtualBytes: number | null = null;
    let received = 0;
    let lastProgress = 0;
    try {
      await mkdir(incoming, { recursive: true, mode: baseImageDirMode });
      for (const [role, source] of files) {
        const target = join(incoming, fileNames[role]);
        const hash = createHash('sha256');
        let bytes = 0;
        const meter = new Transform({
          transform: (chunk: Buffer, _encoding, callback) => {
            hash.update(chunk);
            bytes += chunk.length;
            received += chunk.length;
            const now = Date.now();
            if (now - lastProgress >= progressEveryMs) {
              lastProgress = now;
              this.reportProgress(image, {
                file: role,
                receivedBytes: received,
                totalBytes: total,
              });
            }
            callback(null, chunk);
          },
        });
        await pipeline(await source.open(), meter, createWriteStream(target, { mode: 0o644 }), {
          signal,
        });
        const digest = hash.digest('hex');
        if (source.sizeBytes !== bytes) {
          throw new BivouacError(
            'BAD_IMAGE',
            `${source.label} ended after ${bytes} bytes; ${source.sizeBytes} were announced.`,
            { file: role, receivedBytes: bytes, expectedBytes: source.sizeBytes },
          );
        }
        if (source.sha256 && source.sha256.toLowerCase() !== digest) {
          throw new BivouacError(
            'CHECKSUM_MISMATCH',
            `${source.label} has sha256 ${digest}, not the expected ${source.sha256.toLowerCase()}; it may be damaged or altered.`,
            {
              file: role,
              expected: source.sha256.toLowerCase(),
              actual: digest,
            },
          );
        }
        await checkFormat(role, target, source.label);
        const verdict: ImageVerdict = await inspectImage(target, expectedFormat(role));
        if (verdict.found.length > 0) throw unsafeImage(source.label, role, verdict);
        if (role === 'disk') virtualBytes = verdict.facts?.virtualBytes ?? null;
        await fsyncFile(target);
        sha256[role] = digest;
        this.reportProgress(image, { file: role, receivedBytes: received, totalBytes: total });
      }
      await syncDirectory(incoming);
      await rename(incoming, join(this.options.directory, image.id));
      await syncDirectory(this.options.directory);
      const ready = await this.finish(image.id, {
        status: 'ready',
        sha256,
        sizeBytes: received,
        virtualBytes,
      });
      this.announce('image.ready', ready, { receivedBytes: received, totalBytes: total });
      return ready;
    } catch (error) {
      await rm(incoming, { recursive: true, force: true });
      const typed = asTypedError(error, signal);
      // Nothing is left behind: the caller hears why (the answer, or for an import by path the
      // administrators' image.failed event), and the record goes.
      await this.store
        .update((document) => {
          document.images = document.images.filter((candidate) => candidate.id !== image.id);
        })
        .catch(() => undefined);
      this.announce('image.failed', image, {
        status: 'failed',
        error: typed.message,
        code: typed.code,
        details: typed.details,
      });
      throw typed;
    }
  }

  private async finish(id: string, change: Partial<StoredImage>): Promise<StoredImage> {
    return this.store.update((document) => {
      const image = document.images.find((candidate) => candidate.id === id);
      if (!image)
        throw new BivouacError('NOT_FOUND', `No image with id ${id}.`, { resource: 'image', id });
      Object.assign(image, change);
      return { ...image };
    });
  }

  private announce<K extends ImageEventType>(
    type: K,
    image: StoredImage,
    data: ImageEventExtra<K>,
  ): void {
    this.events.append(imageEvent(type, image, data));
  }

  /** Progress is transient: live screens show it, the log and its replay window never hold it. */
  private reportProgress(image: StoredImage, data: ImageEventExtra<'image.progress'>): void {
    this.events.broadcast(imageEvent('image.progress', image, data));
  }
}

/**
 * An import under way and how it ended are for administrators (their messages name host paths,
 * and a checksum mismatch the file's real sha256); what the store holds is for everyone.
 */
const adminOnlyEvents = new Set<EventType>(['image.importing', 'image.progress', 'image.failed']);

type ImageEventType = Extract<EventType, `image.${string}`>;
/** What an image event adds to the image's name and status (which it may override). */
type ImageEventExtra<K extends ImageEventType> = Omit<EventPayloads[K], keyof ImageEventData> &
  Partial<ImageEventData>;

function imageEvent<K extends ImageEventType>(
  type: K,
  image: StoredImage,
  data: ImageEventExtra<K>,
): DomainEvent {
  const access = adminOnlyEvents.has(type)
    ? privateTo(image.createdBy)
    : visibleToAll(image.createdBy);
  const payload = { name: image.name, status: image.status, ...data } as EventPayloads[K];
  return domainEvent(type, image.id, access, payload);
}

function expectedFormat(role: ImageRole): 'qcow2' | 'raw' {
  return role === 'disk' ? 'qcow2' : 'raw';
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
/** `image.json` of an image shipped with the product (files beside it, by plain name). */
const BuiltInImage = z.strictObject({
  name: z.string().regex(imageNamePattern, imageNameRule),
  kind: z.literal('kernel'),
  kernel: z.string().regex(/^[A-Za-z0-9._-]+$/),
  initrd: z.string().regex(/^[A-Za-z0-9._-]+$/),
  cmdline: z.string().max(1024),
  sha256: z.strictObject({ kernel: sha256Hex, initrd: sha256Hex }),
  description: z.string().max(500).optional(),
});

function asTypedError(error: unknown, signal: AbortSignal): BivouacError {
  if (error instanceof BivouacError) return error;
  if (signal.aborted)
    return new BivouacError(
      'BAD_IMAGE',
      `The import stopped: ${(signal.reason as Error)?.message ?? 'cancelled'}.`,
      {},
    );
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
    return new BivouacError('NO_SPACE', 'The disk filled up during the import.', {});
  return new BivouacError('BAD_IMAGE', `The import failed: ${(error as Error).message}.`, {});
}

function filesOf(sources: ImageSources): [ImageRole, Source][] {
  return sources.kind === 'disk'
    ? [['disk', sources.disk]]
    : [
        ['kernel', sources.kernel],
        ['initrd', sources.initrd],
      ];
}

/**
 * A file the appliance itself placed (a staged bundle's image, a built-in image) as a source.
 * Files an administrator names by path come through `ImportFolders` instead.
 */
export async function fileSource(path: string, sha256?: string): Promise<Source> {
  const info = await lstat(path).catch(() => null);
  if (!info?.isFile())
    throw new BivouacError('BAD_IMAGE', `${path} is not a readable file.`, { path });
  if (info.size > imageLimits.fileBytes)
    throw new BivouacError(
      'FILE_TOO_LARGE',
      `${path} is ${info.size} bytes; an image file may be at most ${imageLimits.fileBytes}.`,
      { path, sizeBytes: info.size, limitBytes: imageLimits.fileBytes },
    );
  return { open: () => createReadStream(path), sizeBytes: info.size, sha256, label: path };
}

/** An administrator's file on removable media or in an import folder, already checked, as a source. */
export function importSource(file: ImportFile, sha256?: string): Source {
  return { open: () => file.open(), sizeBytes: file.sizeBytes, sha256, label: file.label };
}

async function freeBytesOf(directory: string): Promise<number> {
  const info = await statfs(directory);
  return info.bavail * info.bsize;
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Refuses files that cannot be what they claim: a disk must be qcow2; a kernel a bzImage or an
 * ELF vmlinux; an initrd a gzip, xz, zstd, lz4 or plain cpio archive.
 */
async function checkFormat(role: ImageRole, path: string, label: string): Promise<void> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(0x210);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const starts = (hex: string, at = 0): boolean =>
    head.subarray(at, at + hex.length / 2).equals(Buffer.from(hex, 'hex'));
  const ok =
    role === 'disk'
      ? starts('514649fb')
      : role === 'kernel'
        ? starts('7f454c46') || head.subarray(0x202, 0x206).toString('latin1') === 'HdrS'
        : starts('1f8b') ||
          starts('fd377a585a00') ||
          starts('28b52ffd') ||
          starts('02214c18') ||
          starts('04224d18') ||
          head.subarray(0, 6).toString('latin1') === '070701';
  if (!ok) {
    const wanted =
      role === 'disk'
        ? 'a qcow2 disk'
        : role === 'kernel'
          ? 'a Linux kernel (bzImage or vmlinux)'
          : 'an initrd (compressed or plain cpio)';
    throw new BivouacError('IMAGE_UNSAFE', `${label} is not ${wanted}.`, {
      file: role,
      found: ['format'] satisfies ImageFinding[],
      wanted,
    });
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 ** 2);
}

import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Subject } from '../domain/access.ts';
import { findImage } from '../domain/images.ts';
import { limits } from '../domain/limits.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { BootImage } from '../domain/images.ts';
import type { MainDocument, StoredImage } from '../store/document.ts';
import { syncDirectory } from '../store/durable-json-file.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { installBuiltInImages } from './built-in-images.ts';
import { announceImage, reportImageProgress, updateImage } from './image-records.ts';
import { recheckImages, recoverImages } from './image-startup.ts';
import {
  baseImageDirMode,
  filesOf,
  imageFileNames,
  type ImageRole,
  type ImageSources,
  type Source,
} from './image-files.ts';
import { importFailure, receiveFiles } from './image-import.ts';

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
    await recoverImages(this.store, this.events, this.options.directory);
  }

  /**
   * Checks every stored image again by the image rule; one that fails is marked `unusable` and no
   * run can use it (image-startup.ts). Runs at start, before anything launches a VM.
   */
  async recheck(): Promise<{ unusable: { image: string; reason: string }[] }> {
    return recheckImages(this.store, this.events, this.options.directory);
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
      ? { kind: 'disk', path: join(folder, imageFileNames.disk), format: 'qcow2' }
      : {
          kind: 'kernel',
          kernel: join(folder, imageFileNames.kernel),
          initrd: join(folder, imageFileNames.initrd),
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
    announceImage(this.events, 'image.importing', image, { receivedBytes: 0, totalBytes: total });
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
    announceImage(this.events, 'image.deleted', image, {});
  }

  /**
   * Imports the images shipped with the product (folders with an `image.json`, such as the tiny
   * guest from build/tiny-guest.sh) that the store lacks, or holds in another build. An image a
   * VM uses is left as it is; the next start replaces it.
   */
  async installBuiltIn(
    directory: string,
  ): Promise<{ installed: string[]; failed: { image: string; error: string }[] }> {
    return installBuiltInImages(directory, {
      images: () => this.store.data.images,
      usage: (imageId) => this.options.usage(imageId),
      delete: (id) => this.delete(id),
      startImport: (name, sources, actor) => this.startImport(name, sources, actor),
    });
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
    try {
      await mkdir(incoming, { recursive: true, mode: baseImageDirMode });
      const { sha256, receivedBytes, virtualBytes } = await receiveFiles(
        incoming,
        files,
        total,
        signal,
        (progress) => reportImageProgress(this.events, image, progress),
      );
      await syncDirectory(incoming);
      await rename(incoming, join(this.options.directory, image.id));
      await syncDirectory(this.options.directory);
      const ready = await updateImage(this.store, image.id, {
        status: 'ready',
        sha256,
        sizeBytes: receivedBytes,
        virtualBytes,
      });
      announceImage(this.events, 'image.ready', ready, { receivedBytes, totalBytes: total });
      return ready;
    } catch (error) {
      await rm(incoming, { recursive: true, force: true });
      const typed = importFailure(error, signal);
      // Nothing is left behind: the caller hears why (the answer, or for an import by path the
      // administrators' image.failed event), and the record goes.
      await this.store
        .update((document) => {
          document.images = document.images.filter((candidate) => candidate.id !== image.id);
        })
        .catch(() => undefined);
      announceImage(this.events, 'image.failed', image, {
        status: 'failed',
        error: typed.message,
        code: typed.code,
        details: typed.details,
      });
      throw typed;
    }
  }
}

async function freeBytesOf(directory: string): Promise<number> {
  const info = await statfs(directory);
  return info.bavail * info.bsize;
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 ** 2);
}

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { imageNamePattern, imageNameRule } from '../domain/images.ts';
import type { StoredImage } from '../store/document.ts';
import { fileSource, type ImageSources } from './image-files.ts';

/** What installing the shipped images needs of the image store (images.ts). */
export interface BuiltInTarget {
  /** The images held now, to find one of the same name. */
  images(): readonly StoredImage[];
  /** How many live VMs use an image: one in use is left as it is. */
  usage(imageId: string): number;
  /** Removes an image shipped in another build before its new one is imported. */
  delete(id: string): Promise<void>;
  startImport(
    name: string,
    sources: ImageSources,
    actor: string,
  ): Promise<{ image: StoredImage; done: Promise<StoredImage> }>;
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

/**
 * Imports the images shipped with the product (folders with an `image.json`, such as the tiny
 * guest from build/tiny-guest.sh) that the store lacks, or holds in another build. An image a
 * VM uses is left as it is; the next start replaces it.
 */
export async function installBuiltInImages(
  directory: string,
  target: BuiltInTarget,
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
      const existing = target.images().find((image) => image.name === shipped.name);
      if (
        existing &&
        existing.sha256.kernel === shipped.sha256.kernel &&
        existing.sha256.initrd === shipped.sha256.initrd
      )
        continue;
      if (existing?.status === 'importing' || (existing && target.usage(existing.id) > 0)) continue;
      if (existing) await target.delete(existing.id);
      const file = (name: string, sha256: string) =>
        fileSource(join(directory, folder, name), sha256);
      const sources: ImageSources = {
        kind: 'kernel',
        kernel: await file(shipped.kernel, shipped.sha256.kernel),
        initrd: await file(shipped.initrd, shipped.sha256.initrd),
        cmdline: shipped.cmdline,
      };
      await (
        await target.startImport(shipped.name, sources, 'system')
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

import { diskTooSmallMessage, findImage, leastDiskGiB } from '../domain/images.ts';
import { type ResolvedImage } from '../domain/modules.ts';
import { ModuleError } from '../domain/module-references.ts';
import { resolveImage } from '../domain/module-resolution.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import { invalid } from './module-errors.ts';
import type { ModuleLookups, Reach } from './module-lookups.ts';

/**
 * Images as runs resolve them: parents merged, references followed as someone may, and a disk
 * that must hold the base image the box keeps for it.
 */
export class ModuleImages {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly lookups: ModuleLookups,
  ) {}

  /**
   * An image with its parents merged, as a run resolves it, following references as `reach` may.
   * To run, its disk must hold its base image: one smaller is refused with DISK_TOO_SMALL here,
   * when the run (or its pre-flight) is asked for, on every cloud, before anything is created.
   */
  resolveImage(reference: string, reach: Reach): ResolvedImage {
    let image: ResolvedImage;
    try {
      image = resolveImage(reference, this.lookups.lookupAs(reach));
    } catch (error) {
      if (error instanceof ModuleError) throw invalid(error.field, error.message);
      throw error;
    }
    if (reach.action === 'run') this.refuseDiskTooSmall(reference, image);
    return image;
  }

  private refuseDiskTooSmall(reference: string, image: ResolvedImage): void {
    // Whatever kind of cloud names it: an image the box holds is the one a launch copies.
    for (const native of Object.values(image.nativeImages))
      this.refuseBaseTooLarge(reference, image, findImage(this.store.data.images, native.imageId));
  }

  private refuseBaseTooLarge(
    reference: string,
    image: ResolvedImage,
    base: MainDocument['images'][number] | undefined,
  ): void {
    // Unknown until checked (an image stored by an older version): the launch checks the file.
    if (base?.kind !== 'disk' || base.virtualBytes === null) return;
    const baseBytes = base.virtualBytes;
    if (baseBytes <= image.resources.diskGiB * 1024 ** 3) return;
    const module = image.chain[0] ?? reference;
    throw new BivouacError(
      'DISK_TOO_SMALL',
      diskTooSmallMessage(
        `${module} (base image ${base.name})`,
        image.resources.diskGiB,
        baseBytes,
      ),
      {
        module,
        image: base.name,
        diskGiB: image.resources.diskGiB,
        baseBytes,
        neededGiB: leastDiskGiB(baseBytes),
      },
    );
  }
}

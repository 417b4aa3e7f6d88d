import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MainDocument, StoredImage } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { storedImageProblem } from './image-check.ts';
import { baseImageDirMode } from './image-files.ts';
import { announceImage, updateImage } from './image-records.ts';

/**
 * Removes imports a restart interrupted from the image store in `directory` (telling
 * administrators by an `image.failed` event), failed records older versions kept, and the
 * temporary folders.
 */
export async function recoverImages(
  store: Store<MainDocument>,
  events: EventLog,
  directory: string,
): Promise<void> {
  await mkdir(directory, { recursive: true, mode: baseImageDirMode });
  for (const entry of await readdir(directory)) {
    if (entry.startsWith('.incoming-'))
      await rm(join(directory, entry), { recursive: true, force: true });
  }
  const interrupted = store.data.images.filter((image) => image.status === 'importing');
  const isKept = (image: StoredImage): boolean =>
    image.status === 'ready' || image.status === 'unusable';
  if (store.data.images.every(isKept)) return;
  await store.update((document) => {
    document.images = document.images.filter(isKept);
  });
  for (const image of interrupted) {
    await rm(join(directory, image.id), { recursive: true, force: true });
    announceImage(events, 'image.failed', image, {
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
export async function recheckImages(
  store: Store<MainDocument>,
  events: EventLog,
  directory: string,
): Promise<{ unusable: { image: string; reason: string }[] }> {
  const unusable: { image: string; reason: string }[] = [];
  for (const image of store.data.images.filter(
    (candidate) => candidate.status === 'ready' || candidate.status === 'unusable',
  )) {
    const { reason, virtualBytes } = await storedImageProblem(directory, image);
    const verdictKept =
      (reason === null ? 'ready' : 'unusable') === image.status && reason === image.error;
    if (verdictKept && virtualBytes === image.virtualBytes) continue;
    const changed = await updateImage(
      store,
      image.id,
      reason === null
        ? { status: 'ready', error: null, virtualBytes }
        : { status: 'unusable', error: reason, virtualBytes },
    );
    if (verdictKept) continue; // only its size was read (an image stored by an older version)
    if (reason !== null) unusable.push({ image: image.name, reason });
    if (reason === null) announceImage(events, 'image.ready', changed, {});
    else announceImage(events, 'image.unusable', changed, { reason });
  }
  return { unusable };
}

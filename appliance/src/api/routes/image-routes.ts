import type { Readable } from 'node:stream';
import { BivouacError } from '../../errors.ts';
import { fileSource, type ImageSources, type ImageStore } from '../../host/images.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** The largest upload accepted; disk space is checked on top. */
const maxUploadBytes = 256 * 1024 ** 3;

/** The image store: list, import from the box's files, upload, delete. */
export function imageHandlers(images: ImageStore): Pick<Handlers, 'listImages' | 'importImage' | 'uploadImage' | 'deleteImage'> {
  return {
    listImages: async () => [...images.list()],
    importImage: async ({ body }, context) => {
      const sources: ImageSources =
        body.kind === 'disk'
          ? { kind: 'disk', disk: await fileSource(body.path, body.sha256) }
          : { kind: 'kernel', kernel: await fileSource(body.kernel.path, body.kernel.sha256), initrd: await fileSource(body.initrd.path, body.initrd.sha256), cmdline: body.cmdline };
      const { image, done } = await images.startImport(body.name, sources, signedIn(context).user.id);
      done.catch(() => undefined); // the record and an image.failed event say what went wrong
      return image;
    },
    uploadImage: async ({ query }, context) => {
      const length = Number(context.request.headers['content-length']);
      if (!Number.isSafeInteger(length) || length <= 0) {
        throw new BivouacError('LENGTH_REQUIRED', 'Send the image as the request body with its size in Content-Length.', {});
      }
      if (length > maxUploadBytes) throw new BivouacError('BODY_TOO_LARGE', `An image upload may be at most ${maxUploadBytes} bytes.`, { limitBytes: maxUploadBytes });
      const body = context.request.body as Readable;
      const { image, done } = await images.startImport(
        query.name,
        { kind: 'disk', disk: { open: () => body, sizeBytes: length, sha256: query.sha256, label: `upload ${query.name}` } },
        signedIn(context).user.id,
      );
      try {
        return await done;
      } catch (error) {
        // The caller hears why; the failed attempt leaves nothing behind.
        await images.delete(image.id);
        throw error;
      }
    },
    deleteImage: async ({ params }) => {
      await images.delete(params.id);
      return null;
    },
  };
}

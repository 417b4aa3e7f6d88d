import type { Readable } from 'node:stream';
import { BivouacError } from '../../errors.ts';
import { imageLimits } from '../../domain/images.ts';
import { importSource, type ImageSources } from '../../host/image-files.ts';
import type { ImageStore } from '../../host/images.ts';
import type { ImportFolders } from '../../host/import-files.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** The largest upload accepted; disk space is checked on top. */
const maxUploadBytes = imageLimits.fileBytes;

/** The image store: list, import from the box's files, upload, delete. */
export function imageHandlers(
  images: ImageStore,
  folders: ImportFolders,
): Pick<Handlers, 'listImages' | 'importImage' | 'uploadImage' | 'deleteImage'> {
  const file = async (path: string, sha256: string | undefined) =>
    importSource(await folders.file(path, imageLimits.fileBytes), sha256);
  return {
    listImages: async (_input, context) => [...images.list(signedIn(context).subject)],
    importImage: async ({ body }, context) => {
      const sources: ImageSources =
        body.kind === 'disk'
          ? { kind: 'disk', disk: await file(body.path, body.sha256) }
          : {
              kind: 'kernel',
              kernel: await file(body.kernel.path, body.kernel.sha256),
              initrd: await file(body.initrd.path, body.initrd.sha256),
              cmdline: body.cmdline,
            };
      const { image, done } = await images.startImport(
        body.name,
        sources,
        signedIn(context).user.id,
      );
      done.catch(() => undefined); // an image.failed event tells administrators what went wrong
      return image;
    },
    uploadImage: async ({ query }, context) => {
      const length = Number(context.request.headers['content-length']);
      if (!Number.isSafeInteger(length) || length <= 0) {
        throw new BivouacError(
          'LENGTH_REQUIRED',
          'Send the image as the request body with its size in Content-Length.',
          {},
        );
      }
      if (length > maxUploadBytes)
        throw new BivouacError(
          'BODY_TOO_LARGE',
          `An image upload may be at most ${maxUploadBytes} bytes.`,
          { limitBytes: maxUploadBytes },
        );
      const body = context.request.body as Readable;
      const { done } = await images.startImport(
        query.name,
        {
          kind: 'disk',
          disk: {
            open: () => body,
            sizeBytes: length,
            sha256: query.sha256,
            label: `upload ${query.name}`,
          },
        },
        signedIn(context).user.id,
      );
      // The caller hears why a failed attempt failed; it leaves nothing behind.
      return done;
    },
    deleteImage: async ({ params }) => {
      await images.delete(params.id);
      return null;
    },
  };
}

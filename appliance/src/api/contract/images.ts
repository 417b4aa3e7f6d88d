import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the image store. */
export const imageRoutes = {
  listImages: {
    method: 'GET',
    path: '/images',
    tag: 'images',
    auth: 'user',
    summary: 'Base images in the image store',
    response: s.Image.array(),
  },
  importImage: {
    method: 'POST',
    path: '/images/import',
    tag: 'images',
    auth: 'admin',
    status: 202,
    summary:
      'Import a base image from files on the box (a USB stick); progress arrives as image.progress events',
    body: s.ImportImage,
    response: s.Image,
  },
  uploadImage: {
    method: 'POST',
    path: '/images/upload',
    tag: 'images',
    auth: 'admin',
    status: 201,
    upload: true,
    summary:
      'Upload a qcow2 base image as the raw request body; answers once it is stored and verified',
    query: s.UploadImageQuery,
    response: s.Image,
  },
  deleteImage: {
    method: 'DELETE',
    path: '/images/:id',
    tag: 'images',
    auth: 'admin',
    status: 204,
    summary: 'Delete a base image (refused while a VM uses it)',
    params: s.IdParams,
    response: s.Empty,
  },
} as const satisfies Record<string, RouteContract>;

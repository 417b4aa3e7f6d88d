/**
 * The app store:
 * - importing a 200 MB bundle (a base image inside): MB/s, and how much the process's memory
 *   grew while importing — streamed, so it stays far below the bundle's size;
 * - GET /api/v1/apps with 500 apps installed: target p99 < 20 ms.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { newSigningKey, writeBundle } from '../../appliance/src/catalog/bundle.ts';
import type { StoredApp } from '../../appliance/src/domain/apps.ts';
import { as, makeAppliance, setupAdmin, tempDir } from '../fixtures/appliance.ts';
import { emit, percentile } from './lib.ts';

const key = newSigningKey();
const dir = await tempDir('bivouac-bench-store-');

// A 200 MB qcow2 "disk": a real (empty) qcow2 made by qemu-img, then incompressible bytes.
const disk = join(dir, 'disk.qcow2');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1G']);
const handle = await open(disk, 'a');
for (let written = 0; written < 200 * 1024 * 1024; written += 4 * 1024 * 1024)
  await handle.write(randomBytes(4 * 1024 * 1024));
await handle.close();

const manifest = {
  format: 1,
  app: {
    id: 'big',
    version: '1.0.0',
    title: 'Big',
    summary: 'A bundle with a 200 MB image',
    publisher: 'Bench',
  },
  deploy: { module: '/apps/big/vm' },
  images: [{ name: 'big-disk', kind: 'disk', disk: 'images/big/disk.qcow2' }],
};
const modules = [
  { path: '/apps/big', content: { kind: 'project' } },
  {
    path: '/apps/big/vm',
    content: { kind: 'image', nativeImages: { libvirt: { imageId: 'big-disk' } } },
  },
];
const bundlePath = join(dir, 'big.bvc');
await writeBundle(
  createWriteStream(bundlePath),
  [
    { path: 'manifest.yaml', data: Buffer.from(stringify(manifest)) },
    {
      path: 'modules.yaml',
      data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
    },
    { path: 'images/big/disk.qcow2', file: disk },
  ],
  key,
);
const bundleBytes = (await stat(bundlePath)).size;

const box = await makeAppliance({ appsDir: join(dir, 'apps'), imageDir: join(dir, 'images') });
await box.services.apps.recover();
const admin = await setupAdmin(box.app);
await box.app.inject({
  method: 'POST',
  url: '/api/v1/publishers',
  headers: as(admin),
  payload: { name: 'Bench', publicKey: key.publicKey, appIds: ['big'] },
});

// The growth is measured from a collected heap, or garbage left by the set-up would hide it; the
// runner starts every bench with --expose-gc.
if (!global.gc)
  throw new Error(
    'global.gc is missing: run this bench with node --expose-gc (npm run bench does)',
  );
global.gc();
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const imported = await box.app.inject({
  method: 'POST',
  url: '/api/v1/apps/import',
  headers: as(admin),
  payload: { path: bundlePath },
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
if (imported.statusCode !== 201) throw new Error(imported.body);
emit('bundle-import-200mb-throughput', bundleBytes / 1024 / 1024 / seconds, 'MB/s', null);
emit('bundle-import-200mb-memory-growth', (rssPeak - rssBefore) / 1024 / 1024, 'MB', '<64');

// 500 apps in the store (records as installs leave them), then the listing.
const template = structuredClone(box.services.store.data.apps[0]!) as StoredApp;
await box.services.store.update((document) => {
  for (let i = 0; i < 499; i += 1) {
    const app = structuredClone(template);
    app.id = `app-${i}`;
    app.versions[0]!.manifest.app.id = app.id;
    app.versions[0]!.manifest.app.title = `App ${i}`;
    document.apps.push(app);
  }
});
const times: number[] = [];
for (let i = 0; i < 300; i += 1) {
  const t0 = performance.now();
  const response = await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) });
  if (response.statusCode !== 200 || response.json<unknown[]>().length !== 500)
    throw new Error('listing failed');
  times.push(performance.now() - t0);
}
emit('apps-list-500-p50', percentile(times, 50), 'ms', null);
emit('apps-list-500-p99', percentile(times, 99), 'ms', '<20');

await box.services.clouds.close();
await box.close();

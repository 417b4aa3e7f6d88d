/**
 * Durable writes of the main document (~1 MB) through the appliance's Store and its
 * DurableJsonFile adapter (temp file, fsync, rename, directory fsync), on the data's disk
 * (`benchDiskDir`: never a file system in memory, where fsync is free; the file system is logged):
 * - p50 latency of one acknowledged change (`await store.update(…)`), target < 15 ms;
 * - a burst of 100 concurrent changes: how many times the file is physically written, target <= 3.
 * Writes are counted by the real adapter itself (a subclass): every call of its `write` is one
 * write-fsync-rename of the whole file.
 */
import { rm } from 'node:fs/promises';
import type { ImageContent } from '../../appliance/src/domain/modules.ts';
import type { MainDocument, StoredModule } from '../../appliance/src/store/document.ts';
import { DurableJsonFile } from '../../appliance/src/store/durable-json-file.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { Store } from '../../appliance/src/store/store.ts';
import { benchDiskDir } from './disk-dir.ts';
import { emit, percentile } from './lib.ts';

const documentBytes = 1024 * 1024;
const sequentialChanges = 200;
const burstSize = 100;

/** The real adapter, with a count of the writes that reached it. */
class CountingFile<T> extends DurableJsonFile<T> {
  writes = 0;

  override write(data: T): Promise<void> {
    this.writes += 1;
    return super.write(data);
  }
}

/** An image module with a few versions whose recipes are shell scripts, as a library grows. */
function imageModule(index: number): StoredModule {
  const script = Array.from(
    { length: 20 },
    (_, line) => `echo "step ${line} of module ${index}" && apt-get install -y package-${line}`,
  ).join('\n');
  const content = (version: number): ImageContent => ({
    kind: 'image',
    description: `Image module ${index}, version ${version}`,
    parent: null,
    nativeImages: { libvirt: { imageId: `image${index}` } },
    resources: { vcpu: 2, memoryMiB: 2048, diskGiB: 10 },
    recipes: { deploy: script, report: 'echo ready' },
    inputs: [],
    outputs: [{ name: 'ready' }],
    ports: [],
  });
  return {
    path: `/library/image-${index}`,
    owner: 'admin',
    acl: [],
    deleted: false,
    versions: [1, 2, 3].map((version) => ({
      version,
      author: 'admin',
      time: new Date(0).toISOString(),
      message: `version ${version}`,
      content: content(version),
    })),
  };
}

const { directory: dataDir } = await benchDiskDir('durable-write-');
try {
  const { store: opened, file } = await openStore(dataDir);
  const document = structuredClone(opened.data) as MainDocument;
  while (JSON.stringify(document).length < documentBytes)
    document.modules.push(imageModule(document.modules.length));
  const size = JSON.stringify(document).length;

  const adapter = new CountingFile<MainDocument>(file);
  const store = new Store<MainDocument>(adapter, document);
  await store.update(() => undefined); // the first write creates the full-size file

  const latencies: number[] = [];
  for (let i = 0; i < sequentialChanges; i += 1) {
    const started = performance.now();
    await store.update((draft) => {
      draft.modules[i % draft.modules.length]!.deleted = i % 2 === 0;
    });
    latencies.push(performance.now() - started);
  }

  const writesBefore = adapter.writes;
  const burstStarted = performance.now();
  await Promise.all(
    Array.from({ length: burstSize }, (_, i) =>
      store.update((draft) => {
        draft.modules[i]!.acl = [{ user: `user${i}`, allow: ['view'] }];
      }),
    ),
  );
  const burstMs = performance.now() - burstStarted;
  const burstWrites = adapter.writes - writesBefore;
  await store.flush();

  process.stderr.write(
    `document ${(size / 1024).toFixed(0)} KiB, ${document.modules.length} modules\n`,
  );
  emit('durable-write-p50', percentile(latencies, 50), 'ms', '<15');
  emit('durable-write-p99', percentile(latencies, 99), 'ms', null);
  emit('durable-write-burst-100-file-writes', burstWrites, 'writes', '<=3');
  emit('durable-write-burst-100-total', burstMs, 'ms', null);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

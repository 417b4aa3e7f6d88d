import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { migrations as allMigrations } from '../../migrations/index.ts';
import type { AnyDocument, MainDocument, Migration } from './document.ts';
import {
  copyFileDurably,
  DurableJsonFile,
  makeDirectoryDurably,
  readText,
} from './durable-json-file.ts';
import { decodeDocument, encodeDocument } from './run-content.ts';
import { Store } from './store.ts';

/** The appliance refuses to start on this store; the message says which file and what to do. */
export class StoreOpenError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly lastGoodBackup: string | null,
  ) {
    super(message);
    this.name = 'StoreOpenError';
  }
}

export interface OpenedStore {
  store: Store<MainDocument>;
  file: string;
  /** Versions migrated through at this start, oldest first (empty when already current). */
  migratedFrom: number | null;
  backup: string | null;
}

const documentName = 'bivouac.json';
const backupsToKeep = 5;

/**
 * Opens the main document in `dataDir`: creates it on first start, refuses a corrupt or
 * newer-than-known file, takes a backup before migrating, and keeps the last good copies.
 */
export async function openStore(
  dataDir: string,
  migrations: readonly Migration[] = allMigrations,
  now: () => Date = () => new Date(),
): Promise<OpenedStore> {
  const file = join(dataDir, documentName);
  const backupDir = join(dataDir, 'backups');
  await makeDirectoryDurably(backupDir, 0o700);
  const latest = migrations.at(-1)?.version ?? 0;
  const lastGood = await newestBackup(backupDir);

  const text = await readText(file);
  if (text === null && lastGood) {
    throw new StoreOpenError(
      `The store ${file} is missing but backups exist; refusing to start with an empty store. ` +
        `Restore the last good backup: cp ${lastGood} ${file}`,
      file,
      lastGood,
    );
  }
  const document = text === null ? { schemaVersion: 0 } : parseDocument(text, file, lastGood);

  if (document.schemaVersion > latest) {
    throw new StoreOpenError(
      `The store ${file} has schema version ${document.schemaVersion}, written by a newer Bivouac; ` +
        `this one knows versions up to ${latest}. Run the newer version, or restore the last good backup` +
        (lastGood ? `: cp ${lastGood} ${file}` : ' (none exists).'),
      file,
      lastGood,
    );
  }

  let backup: string | null = null;
  const migratedFrom = document.schemaVersion < latest ? document.schemaVersion : null;
  if (text !== null && migratedFrom !== null) {
    backup = join(backupDir, `${stamp(now())}.v${migratedFrom}.pre-migration.json`);
    await copyFileDurably(file, backup);
  }
  for (const migration of migrations) {
    if (migration.version <= document.schemaVersion) continue;
    migration.up(document);
    document.schemaVersion = migration.version;
  }

  // Runs keep their nodes' content by reference to the module versions it came from (in the same
  // document): read back here, and again when a refused write takes the document back.
  let decoded: MainDocument;
  try {
    decoded = decodeDocument(document as unknown as MainDocument);
  } catch (error) {
    throw new StoreOpenError(
      `The store ${file} is inconsistent: ${(error as Error).message}` +
        (lastGood ? ` (cp ${lastGood} ${file})` : ''),
      file,
      lastGood,
    );
  }
  const store = new Store<MainDocument>(
    new DurableJsonFile<MainDocument>(file, { encode: encodeDocument, decode: decodeDocument }),
    decoded,
  );
  if (text === null || migratedFrom !== null) await store.update(() => undefined);
  if (text !== null && migratedFrom === null) {
    await copyFileDurably(file, join(backupDir, `${stamp(now())}.v${document.schemaVersion}.json`));
    await pruneBackups(backupDir);
  }
  return { store, file, migratedFrom, backup };
}

function parseDocument(text: string, file: string, lastGood: string | null): AnyDocument {
  const restore = lastGood
    ? `Restore the last good backup: cp ${lastGood} ${file}`
    : 'No backup exists yet.';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason =
      text.trim() === '' ? 'it is empty' : `it is not valid JSON (${(error as Error).message})`;
    throw new StoreOpenError(`The store ${file} is corrupt: ${reason}. ${restore}`, file, lastGood);
  }
  const version = (parsed as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Number.isInteger(version) ||
    (version as number) < 1
  ) {
    throw new StoreOpenError(
      `The store ${file} is corrupt: it has no valid schemaVersion. ${restore}`,
      file,
      lastGood,
    );
  }
  return parsed as AnyDocument;
}

async function backupsNewestFirst(backupDir: string): Promise<string[]> {
  const names = (await readdir(backupDir)).filter((name) => name.endsWith('.json'));
  return names.sort().reverse();
}

async function newestBackup(backupDir: string): Promise<string | null> {
  const [newest] = await backupsNewestFirst(backupDir);
  return newest ? join(backupDir, newest) : null;
}

/** Keeps the newest copies; backups taken before a migration are never pruned. */
async function pruneBackups(backupDir: string): Promise<void> {
  const routine = (await backupsNewestFirst(backupDir)).filter(
    (name) => !name.includes('.pre-migration'),
  );
  for (const name of routine.slice(backupsToKeep)) await unlink(join(backupDir, name));
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

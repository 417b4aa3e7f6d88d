import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { keysDirOf, type Config } from './config.ts';
import type { DisposerStack } from './disposers.ts';
import { DataDirInUseError, lockDataDir, type DataDirLock } from './host/data-dir-lock.ts';
import { ensureTlsIdentity, type TlsIdentity } from './host/tls.ts';
import type { MainDocument } from './store/document.ts';
import { makeDirectoryDurably } from './store/durable-json-file.ts';
import { EventLog } from './store/event-log.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';

/** What the data dir holds for the appliance that opened it. */
export interface OpenedDataDir {
  /** This appliance's hold on the data dir; it says where the appliance listens. */
  dataDirLock: DataDirLock;
  store: Store<MainDocument>;
  events: EventLog;
  tls: TlsIdentity;
}

/**
 * Opens the data dir for this appliance alone (server.ts, first of the start-up): the lock, the
 * store (migrated), the event log, the keys folder and the TLS identity, each part's stop
 * registered on `disposers` as it opens.
 */
export async function openDataDir(
  config: Config,
  logger: Logger,
  disposers: DisposerStack,
): Promise<OpenedDataDir> {
  // One appliance per data dir: a second start is refused before it reads or writes anything.
  await makeDirectoryDurably(config.dataDir, 0o700);
  const dataDirLock = await lockDataDir(config.dataDir).catch((error: unknown) => {
    // Said as a log line too, with the holder's URLs: the desktop shell, finding the box's
    // service already running on this data dir, shows that one instead (electron/main).
    if (error instanceof DataDirInUseError)
      logger.error({ holder: error.holder }, 'the data dir is in use by another appliance');
    throw error;
  });
  disposers.defer('data dir lock', () => dataDirLock.release());

  const { store, file, migratedFrom, backup } = await openStore(config.dataDir);
  disposers.defer('store', () => store.flush());
  // QEMU runs as its own user (libvirt-qemu), which must pass through the data dir to the VMs'
  // files and the base images (it may not list it).
  const dataDirMode = (await stat(config.dataDir)).mode & 0o7777;
  if ((dataDirMode & 0o001) === 0) await chmod(config.dataDir, dataDirMode | 0o001);
  if (migratedFrom !== null)
    logger.info(
      { file, from: migratedFrom, to: store.data.schemaVersion, backup },
      'store migrated',
    );
  const events = await EventLog.open({
    directory: join(config.dataDir, 'events'),
    replayLimit: config.eventReplayLimit,
  });
  disposers.defer('event log', () => events.close());
  // Where administrators put the SSH keys and known-hosts files cloud URIs may name; only the
  // appliance's user reads it.
  await mkdir(keysDirOf(config.dataDir), { recursive: true, mode: 0o700 });
  const tls = await ensureTlsIdentity(config.dataDir);
  logger.info(
    { fingerprint: tls.fingerprint, created: tls.created },
    'HTTPS certificate (SHA-256 fingerprint)',
  );
  return { dataDirLock, store, events, tls };
}

import type { DownloadItem, Event, Session } from 'electron';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Disposer } from './disposer.ts';

/** How the shell treats a download the appliance's pages start (a YAML export, an asset). */
export interface DownloadPolicy {
  /** The box's locked screen: nothing is saved, and no file dialog ever opens there. */
  kiosk: boolean;
  /** Where files go otherwise, without a dialog (the user's Downloads folder). */
  folder: string;
}

/**
 * Pure decision: where a download is saved, or null to cancel it. Electron's default is a Save
 * dialog, which is a file-system browser; on the kiosk screen nobody may browse the box's files,
 * and elsewhere a fixed folder is enough. The name the page suggests is reduced to a plain file
 * name, and a file already there is never overwritten (`name (1).ext`).
 */
export function downloadPath(
  suggestedName: string,
  policy: DownloadPolicy,
  exists: (path: string) => boolean,
): string | null {
  if (policy.kiosk) return null;
  const plain = (suggestedName.split(/[\\/]/).pop() ?? '')
    .replace(/[^\p{L}\p{N} ._()+-]/gu, '_')
    .replace(/^[.\s]+/, '')
    .slice(0, 200);
  const name = plain === '' ? 'download' : plain;
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let copy = 0; copy < 1000; copy += 1) {
    const candidate = join(policy.folder, copy === 0 ? name : `${stem} (${copy})${extension}`);
    if (!exists(candidate)) return candidate;
  }
  return null;
}

/**
 * Handles the session's downloads by the policy instead of Electron's Save dialog. Returns the
 * stop, which removes the handler.
 */
export function handleDownloads(session: Session, policy: DownloadPolicy): Disposer {
  const onWillDownload = (_event: Event, item: DownloadItem): void => {
    const path = downloadPath(item.getFilename(), policy, existsSync);
    if (path === null) {
      item.cancel();
      return;
    }
    mkdirSync(policy.folder, { recursive: true });
    item.setSavePath(path);
  };
  session.on('will-download', onWillDownload);
  return () => {
    session.removeListener('will-download', onWillDownload);
  };
}

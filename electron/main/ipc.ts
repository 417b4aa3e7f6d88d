import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import {
  ipcChannels,
  type BivouacMethod,
  type IpcResult,
  type ShellInfo,
} from '../ipc-contract.ts';
import type { Disposer } from './disposer.ts';
import { isExternalWebUrl, isInternalUrl } from './navigation.ts';

/** What the handlers may use; main decides it once the appliance's origin is known. */
export interface IpcContext {
  /** Only the main frame of a page with this origin may call the shell. */
  appOrigin: string;
  shellInfo: ShellInfo;
  /** Hands an http(s) URL to the desktop's browser; absent in kiosk mode. */
  openExternal?: (url: string) => Promise<void>;
}

/** A call the shell refused because of who made it; the renderer sees its message. */
export class IpcRefusedError extends Error {
  override name = 'IpcRefusedError';
}

/**
 * True when a call comes from the main frame of an appliance page. Checked on every call, not
 * once per window: the window's contents can navigate, and a subframe or a page that slipped
 * past the navigation guard must not reach the shell. A null frame means it navigated away or
 * was destroyed while the message was in flight, so nobody is left to trust.
 */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'senderFrame'>,
  appOrigin: string,
): boolean {
  const frame = event.senderFrame;
  if (!frame) return false;
  if (frame.parent !== null) return false;
  return isInternalUrl(frame.url, appOrigin);
}

/** One handler per API method. Arguments are `unknown`: they come from a renderer. */
export type IpcHandlers = {
  [Method in BivouacMethod]: (...args: unknown[]) => Promise<IpcResult<Method>>;
};

/**
 * The handlers without the transport, so their argument checks can be tested directly. They
 * trust the caller (checked before them) but not the arguments.
 */
export function createIpcHandlers(context: IpcContext): IpcHandlers {
  return {
    getShellInfo: async () => ({ ...context.shellInfo }),
    openExternal: async (url) => {
      if (typeof url !== 'string' || !isExternalWebUrl(url) || !context.openExternal) return false;
      await context.openExternal(url);
      return true;
    },
  };
}

function describeSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): string {
  const frame = event.senderFrame;
  if (!frame) return 'a frame that no longer exists';
  return `${frame.parent === null ? 'a main frame' : 'a subframe'} at ${JSON.stringify(frame.url)}`;
}

/**
 * Registers every channel of the contract with `ipcMain.handle`, each behind the sender check.
 * Returns the stop, which removes them all (so a restart of the window could register again).
 */
export function registerIpcHandlers(context: IpcContext): Disposer {
  const handlers = createIpcHandlers(context);
  const methods = Object.keys(ipcChannels) as BivouacMethod[];
  for (const method of methods) {
    const channel = ipcChannels[method];
    ipcMain.handle(channel, (event, ...args: unknown[]) => {
      if (!isTrustedSender(event, context.appOrigin)) {
        throw new IpcRefusedError(`${channel}: refused a call from ${describeSender(event)}`);
      }
      return handlers[method](...args);
    });
  }
  return () => {
    for (const method of methods) ipcMain.removeHandler(ipcChannels[method]);
  };
}

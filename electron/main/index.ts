/**
 * The shell's main process: holds the single-instance lock, starts the appliance as a child
 * process (or, with `--appliance-url`, uses one already running; or, when the box's service
 * already holds the data dir, the child says so and that one is shown), opens the one window on the
 * appliance's loopback URL once its /healthz answers, and on quit undoes everything in reverse
 * order, the appliance last. The business logic all lives in the appliance; this file only
 * orders the pieces.
 */
import { app, dialog, session, shell, type BrowserWindow, type Event } from 'electron';
import { fileURLToPath } from 'node:url';
import { parseShellArguments } from './arguments.ts';
import { DisposerStack, type Disposer } from './disposer.ts';
import { handleDownloads } from './downloads.ts';
import { registerIpcHandlers } from './ipc.ts';
import { guardNavigation } from './navigation.ts';
import { restrictPermissions } from './permissions.ts';
import { loadScreenId } from './screen-id.ts';
import { createWindow } from './window.ts';
import {
  applianceLaunch,
  describeExit,
  startApplianceProcess,
  waitForHealthy,
  type ApplianceLaunch,
} from './appliance-process.ts';

/** Everything the shell needs from its surroundings. */
export interface ShellOptions {
  kiosk: boolean;
  /** Start this appliance as a child process, or show the one already running at this origin. */
  appliance: { launch: ApplianceLaunch } | { attachTo: string };
  preloadPath: string;
}

function writeOutput(line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Said on stderr (the journal, the terminal) and on screen, where the operator is looking. */
function reportFatal(title: string, message: string): void {
  process.stderr.write(`bivouac: ${title}: ${message}\n`);
  dialog.showErrorBox(title, message);
}

/**
 * Starts the shell. Without the single-instance lock another shell already runs on this box
 * (and has been asked to come forward), so this one quits at once. Returns the stop, which
 * Electron's quit runs too: window, handlers and listeners go first, the appliance it started
 * (SIGTERM, then SIGKILL after 5 s) and the lock last. An appliance it only attached to is
 * never stopped.
 */
export function startShell(options: ShellOptions): Disposer {
  const stack = new DisposerStack();
  const stop = (): Promise<void> => stack.dispose();
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return stop;
  }
  stack.add(() => app.releaseSingleInstanceLock());

  const { kiosk } = options;
  // In kiosk mode no other browser is visible on the box's screen: external links are blocked.
  const openExternal = kiosk ? undefined : (url: string): Promise<void> => shell.openExternal(url);
  let window: BrowserWindow | null = null;

  const focusExistingWindow = (): void => {
    if (!window || window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };
  app.on('second-instance', focusExistingWindow);
  stack.add(() => void app.off('second-instance', focusExistingWindow));

  // Quitting waits for the stops (the appliance needs up to 5 s), then quits for real. After a
  // failure the exit status says so, for whatever restarts the shell (a kiosk session, systemd).
  let exitCode = 0;
  let isReadyToQuit = false;
  const onBeforeQuit = (event: Event): void => {
    if (isReadyToQuit) return;
    event.preventDefault();
    void stop()
      .catch((error: unknown) => {
        exitCode = 1;
        process.stderr.write(`bivouac: stopping failed: ${String(error)}\n`);
      })
      .finally(() => {
        isReadyToQuit = true;
        // app.quit() cannot carry a status; app.exit() can, and everything is stopped by now.
        if (exitCode === 0) app.quit();
        else app.exit(exitCode);
      });
  };
  app.on('before-quit', onBeforeQuit);
  // SIGTERM from the session or systemd, Ctrl+C in a terminal: the same orderly quit.
  const quitOnSignal = (): void => app.quit();
  process.on('SIGTERM', quitOnSignal);
  process.on('SIGINT', quitOnSignal);
  stack.add(() => {
    app.off('before-quit', onBeforeQuit);
    process.off('SIGTERM', quitOnSignal);
    process.off('SIGINT', quitOnSignal);
  });

  let appOriginReady: Promise<string>;
  let hasOpenedWindow = false;
  if ('attachTo' in options.appliance) {
    // Someone else (systemd) owns this appliance: wait for it, never stop it.
    const origin = options.appliance.attachTo;
    const quitting = new AbortController();
    stack.add(() => quitting.abort(new Error('the shell is quitting')));
    appOriginReady = waitForHealthy(origin, { signal: quitting.signal }).then(() => origin);
  } else {
    const appliance = startApplianceProcess(options.appliance.launch, { onOutput: writeOutput });
    stack.add(async () => {
      await appliance.stop();
    });
    appOriginReady = appliance.ready;
    void appliance.exited.then((exit) => {
      // Before the window the start path reports it; during shutdown it is expected.
      if (!hasOpenedWindow || stack.isDisposed) return;
      if (exit.code === 0) {
        process.stderr.write('bivouac: the appliance stopped; closing the window\n');
      } else {
        exitCode = 1;
        reportFatal(
          'Bivouac stopped',
          `The appliance stopped unexpectedly (${describeExit(exit)}); see its log.`,
        );
      }
      app.quit();
    });
  }

  const openWindow = async (appOrigin: string): Promise<void> => {
    stack.add(restrictPermissions(session.defaultSession, appOrigin));
    // Downloads never open a file dialog: cancelled on the kiosk screen, else saved to Downloads.
    stack.add(handleDownloads(session.defaultSession, { kiosk, folder: app.getPath('downloads') }));
    // The box's own screen names itself to the appliance with an id kept in the user data.
    const screenId = kiosk ? await loadScreenId(app.getPath('userData')) : null;
    stack.add(
      registerIpcHandlers({
        appOrigin,
        shellInfo: { kiosk, version: app.getVersion(), platform: process.platform, screenId },
        ...(openExternal ? { openExternal } : {}),
      }),
    );
    const created = createWindow({ preloadPath: options.preloadPath, kiosk });
    window = created;
    created.once('closed', () => {
      window = null;
    });
    stack.add(() => {
      window = null;
      if (!created.isDestroyed()) created.destroy();
    });
    stack.add(
      guardNavigation(created.webContents, {
        appOrigin,
        ...(openExternal ? { openExternal: (url: string) => void openExternal(url) } : {}),
      }),
    );
    await created.loadURL(appOrigin);
  };

  void Promise.all([appOriginReady, app.whenReady()])
    .then(async ([appOrigin]) => {
      if (stack.isDisposed) return;
      hasOpenedWindow = true;
      await openWindow(appOrigin);
    })
    .catch((error: unknown) => {
      if (stack.isDisposed) return;
      exitCode = 1;
      reportFatal('Bivouac could not start', messageOf(error));
      app.quit();
    });

  return stop;
}

// Importing this module (tests, tooling) must not start anything: only Electron's main process
// runs the shell. In the bundle, import.meta.url is dist-electron/main.js, next to preload.cjs.
if (process.type === 'browser') {
  try {
    const { kiosk, applianceUrl } = parseShellArguments(process.argv.slice(1));
    startShell({
      kiosk,
      appliance: applianceUrl
        ? { attachTo: applianceUrl }
        : { launch: applianceLaunch(app.getAppPath(), process.execPath, process.env) },
      preloadPath: fileURLToPath(new URL('./preload.cjs', import.meta.url)),
    });
  } catch (error) {
    reportFatal('Bivouac could not start', messageOf(error));
    app.exit(1);
  }
}

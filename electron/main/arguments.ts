import { loopbackOrigin } from './appliance-process.ts';

/** What the command line may change. */
export interface ShellArguments {
  /** `--kiosk`: the box's own screen, full screen with no way out to the desktop. */
  kiosk: boolean;
  /**
   * `--appliance-url=http://127.0.0.1:8080`: show an appliance that is already running (on the
   * box, the systemd service) instead of starting one; null when the shell starts its own.
   */
  applianceUrl: string | null;
}

/** A flag the shell cannot honour; the message says which and why. */
export class ShellArgumentError extends Error {
  override name = 'ShellArgumentError';
}

const applianceUrlFlag = '--appliance-url';

/** The origin of a plain-HTTP loopback URL with nothing after it, or null. */
function applianceOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (
    url.protocol !== 'http:' ||
    url.username ||
    url.password ||
    url.pathname !== '/' ||
    url.search ||
    url.hash
  )
    return null;
  return loopbackOrigin(`${url.hostname}:${url.port || '80'}`);
}

/**
 * Reads the shell's flags from the arguments after the executable (`process.argv.slice(1)`).
 * Anything else — the app path in development, Chromium's own switches — is left alone.
 */
export function parseShellArguments(args: readonly string[]): ShellArguments {
  let kiosk = false;
  let applianceUrl: string | null = null;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '--kiosk') {
      kiosk = true;
      continue;
    }
    let value: string | undefined;
    if (arg === applianceUrlFlag) {
      index += 1;
      value = args[index];
    } else if (arg.startsWith(`${applianceUrlFlag}=`)) {
      value = arg.slice(applianceUrlFlag.length + 1);
    } else {
      continue;
    }
    const origin = value === undefined ? null : applianceOrigin(value);
    if (origin === null) {
      throw new ShellArgumentError(
        `${applianceUrlFlag} wants the appliance's plain-HTTP loopback address, e.g. http://127.0.0.1:8080; got ${JSON.stringify(value ?? '')}`,
      );
    }
    applianceUrl = origin;
  }
  return { kiosk, applianceUrl };
}

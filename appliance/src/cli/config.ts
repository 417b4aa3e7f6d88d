import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { readText, writeFileDurably } from '../store/durable-json-file.ts';
import { CliError, pinned, presentedCertificate, type Target } from './http.ts';

/** What `bivouac login` keeps: where the box is, the API token it made, and the box's certificate if pinned. */
const SavedLogin = z.strictObject({
  url: z.string().url(),
  username: z.string().min(1),
  token: z.string().min(1),
  tokenId: z.string().min(1),
  certificate: z.string().startsWith('-----BEGIN CERTIFICATE-----').optional(),
});
export type SavedLogin = z.infer<typeof SavedLogin>;

/** `$BIVOUAC_CLI_CONFIG`, else `$XDG_CONFIG_HOME/bivouac/cli.json` (`~/.config/…`). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.BIVOUAC_CLI_CONFIG ??
    join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'bivouac', 'cli.json')
  );
}

/** The saved login, or null when there is none; a file that is not one is an error that says so. */
export async function readLogin(path: string): Promise<SavedLogin | null> {
  let text: string | null;
  try {
    text = await readText(path);
  } catch (error) {
    throw new CliError('BAD_CONFIG', `${path} cannot be read: ${(error as Error).message}.`);
  }
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(
      'BAD_CONFIG',
      `${path} is not JSON; remove it and sign in again with \`bivouac login\`.`,
    );
  }
  const parsed = SavedLogin.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      'BAD_CONFIG',
      `${path} is not a saved Bivouac login (${issue.path.join('.') || 'file'}: ${issue.message}); remove it and sign in again with \`bivouac login\`.`,
    );
  }
  return parsed.data;
}

/** Keeps the login for its user alone (mode 0600), written whole or not at all, as the box's store is. */
export async function writeLogin(path: string, login: SavedLogin): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Made new (never an existing file or link, which would keep its own mode).
    await rm(temporary, { force: true });
    await writeFileDurably(path, `${JSON.stringify(login, null, 2)}\n`, temporary);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new CliError(
      'CONFIG_NOT_WRITTEN',
      `The login could not be kept in ${path}: ${(error as Error).message}.`,
    );
  }
}

export async function forgetLogin(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Where commands go: `BIVOUAC_URL` and `BIVOUAC_TOKEN` when both are set (scripts, CI; with
 * `BIVOUAC_FINGERPRINT` for a box whose certificate no authority vouches for), else the saved login.
 */
export async function currentTarget(env: NodeJS.ProcessEnv, path: string): Promise<Target> {
  if (env.BIVOUAC_URL && env.BIVOUAC_TOKEN) {
    let url: URL;
    try {
      url = new URL(env.BIVOUAC_URL);
    } catch {
      throw new CliError(
        'BAD_CONFIG',
        `BIVOUAC_URL ${env.BIVOUAC_URL} is not an address like https://box:8443.`,
      );
    }
    // The token goes with every request: never in clear beyond this machine, as `login` refuses too.
    if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
      throw new CliError(
        'INSECURE_URL',
        `BIVOUAC_URL ${url.origin}: over http:// the token would travel in clear; use https:// (http:// is for this machine's own loopback address only). Nothing was sent.`,
        { url: url.origin },
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new CliError(
        'BAD_CONFIG',
        `BIVOUAC_URL ${env.BIVOUAC_URL}: the address must start with https://.`,
      );
    const target: Target = { url: env.BIVOUAC_URL, token: env.BIVOUAC_TOKEN };
    if (!env.BIVOUAC_FINGERPRINT) return target;
    return {
      ...target,
      certificate: pinned(
        await presentedCertificate(env.BIVOUAC_URL),
        env.BIVOUAC_FINGERPRINT,
        'BIVOUAC_FINGERPRINT ',
      ),
    };
  }
  const login = await readLogin(path);
  if (!login)
    throw new CliError(
      'NOT_SIGNED_IN',
      'Not signed in: run `bivouac login URL --user NAME` first, or set BIVOUAC_URL and BIVOUAC_TOKEN.',
    );
  return savedTarget(login);
}

/** Is this URL host name (as `URL.hostname` gives it) this machine's own loopback? */
export function isLoopbackHostname(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** Where a saved login's commands go. */
export function savedTarget(saved: SavedLogin): Target {
  return {
    url: saved.url,
    token: saved.token,
    ...(saved.certificate ? { certificate: saved.certificate } : {}),
  };
}

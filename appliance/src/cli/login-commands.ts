import { hostname } from 'node:os';
import type { RouteOutput } from '../api/contract.ts';
import { routeUrl } from '../api/contract.ts';
import { usageError, type Flags } from './arguments.ts';
import {
  forgetLogin,
  isLoopbackHostname,
  readLogin,
  savedTarget,
  writeLogin,
  type SavedLogin,
} from './config.ts';
import type { Io } from './context.ts';
import {
  call,
  CliError,
  pinned,
  presentedCertificate,
  sessionCall,
  withSession,
  type Target,
} from './http.ts';

/** Signs in at the box and keeps a new API token for this machine in `path`. */
export async function login(
  io: Io,
  path: string,
  positionals: string[],
  flags: Flags,
): Promise<string> {
  const [address] = positionals;
  if (!address || !flags.user) throw usageError('login needs the box address and --user.');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw usageError(`${address} is not an address like https://box:8443.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw usageError(`${address}: the address must start with https://.`);
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    throw usageError(
      `${address}: over http:// the password and the token would travel in clear; use https:// (http:// is for this machine's own loopback address only).`,
    );
  }
  const target: Target = { url: url.origin };
  if (url.protocol === 'https:') {
    const presented = await presentedCertificate(url.origin);
    if (flags.fingerprint === undefined && !presented.trusted) {
      throw new CliError(
        'CERTIFICATE_UNKNOWN',
        `The box presents a certificate no authority on this machine vouches for. Its SHA-256 fingerprint is\n  ${presented.fingerprint}\nCompare it with the one the box shows (Box page, or its first-run screen); if they are the same, sign in again adding --fingerprint ${presented.fingerprint}`,
        { fingerprint: presented.fingerprint },
      );
    }
    // A fingerprint given is always checked, even for a certificate an authority vouches for.
    if (flags.fingerprint !== undefined) target.certificate = pinned(presented, flags.fingerprint);
  } else if (flags.fingerprint !== undefined) {
    throw usageError('--fingerprint is for https:// addresses.');
  }
  const password = await io.password(flags['password-stdin'] === true);
  const previous = await readLogin(path).catch(() => null);
  const created = await withSession(target, flags.user, password, (headers) =>
    sessionCall<RouteOutput<'createToken'>>(target, headers, 'POST', routeUrl('createToken', {}), {
      name: `cli on ${hostname()}`.slice(0, 64),
    }),
  );
  const made: Target = { ...target, token: created.token };
  try {
    await writeLogin(path, {
      url: target.url,
      username: flags.user,
      token: created.token,
      tokenId: created.id,
      ...(target.certificate ? { certificate: target.certificate } : {}),
    });
  } catch (error) {
    // A token nobody keeps is revoked at once.
    await call(made, 'revokeToken', { params: { id: created.id } }).catch(() => undefined);
    throw error;
  }
  // The login this one replaces gives its token back (best effort: it may be revoked already).
  if (previous) await revoke(previous).catch(() => undefined);
  return `Signed in to ${target.url} as ${flags.user}. The API token "${created.name}" is kept in ${path}.`;
}

async function revoke(saved: SavedLogin): Promise<void> {
  await call(savedTarget(saved), 'revokeToken', { params: { id: saved.tokenId } });
}

/** Gives the kept API token back to the box (when it can) and forgets the login. */
export async function logout(path: string): Promise<string> {
  const saved = await readLogin(path);
  if (!saved) return 'Not signed in; nothing to do.';
  let note = '';
  try {
    await revoke(saved);
  } catch (error) {
    // The token may already be revoked (from the Users page); otherwise say what is left to do.
    if ((error as CliError).code !== 'UNAUTHENTICATED')
      note = ` The token could not be revoked (${(error as Error).message}); revoke "${saved.tokenId}" from the Users page.`;
  }
  await forgetLogin(path);
  return `Signed out of ${saved.url}.${note}`;
}

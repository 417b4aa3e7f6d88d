import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { RouteOutput } from '../api/contract.ts';
import { routeUrl } from '../api/contract.ts';
import { isFinal, type RunState } from '../domain/run-states.ts';
import {
  configPath,
  currentTarget,
  forgetLogin,
  isLoopbackHostname,
  readLogin,
  savedTarget,
  writeLogin,
  type SavedLogin,
} from './config.ts';
import {
  call,
  CliError,
  followEvents,
  pinned,
  presentedCertificate,
  sessionCall,
  withSession,
  type Target,
} from './http.ts';

/** What a command reads and writes: injected, so tests drive the CLI as a user would. */
export interface Io {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
  /** The password, from standard input or a prompt that does not echo. */
  password(fromStdin: boolean): Promise<string>;
  /** All of standard input. */
  stdin(): Promise<string>;
}

const usage = `Usage: bivouac COMMAND [options]

  login URL --user NAME [--fingerprint SHA256] [--password-stdin]
                               sign in; keeps an API token for this machine
  logout                       revoke that token and forget it
  apps                         the app store
  app APP                      an app: what it needs and its deploy form's fields
  deploy APP [--param NAME=VALUE]... [--place NODE=CLOUD]... [--count NODE=N]...
             [--title TEXT] [--wait] [--timeout SECONDS]
                               deploy an app (NAME is node:input for a node's input)
  runs [--state STATE] [--tag TAG] [--text TEXT]
                               your runs and those shared with you, newest first
  run ID                       one run: state, instances, service URL
  params ID                    its runtime parameters (secrets masked)
  terminate ID [--wait]        end it, leaving no VM behind
  abort ID REASON              abort it with a reason
  scale ID NODE COUNT          resize a node of a Ready run
  delete ID --yes              delete a finished run for good, with its log
  modules [PATH]               the module tree
  modules export PATH          a subtree as YAML, to standard output
  modules import FILE -m TEXT  save a YAML subtree (FILE or - for standard input), all or nothing
  clouds                       the clouds and their health
  clouds add NAME URI          add a remote libvirt host (qemu+ssh://root@host/system)
  clouds test ID               check a cloud's connection now
  clouds remove ID --yes       stop offering a cloud for deployments

  --json prints the box's answer as JSON. BIVOUAC_URL with BIVOUAC_TOKEN (an API token from
  the Users page) replaces login for scripts. Exit codes: 0 done, 1 refused or failed, 2 usage.`;

const options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  user: { type: 'string' },
  fingerprint: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  param: { type: 'string', multiple: true },
  place: { type: 'string', multiple: true },
  count: { type: 'string', multiple: true },
  title: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  state: { type: 'string' },
  tag: { type: 'string' },
  text: { type: 'string' },
  message: { type: 'string', short: 'm' },
  yes: { type: 'boolean' },
} as const;

type Flags = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

function usageError(message: string): CliError {
  return new CliError('USAGE', `${message}\n\n${usage}`, {}, 2);
}

/** `NAME=VALUE` pairs into a record; `what` names the option in errors. */
function pairs(items: readonly string[] | undefined, what: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw usageError(`--${what} ${item}: expected NAME=VALUE.`);
    record[item.slice(0, at)] = item.slice(at + 1);
  }
  return record;
}

function counts(items: readonly string[] | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pairs(items, 'count')).map(([node, text]) => {
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0)
        throw usageError(`--count ${node}=${text}: the count must be a whole number, 0 or more.`);
      return [node, value];
    }),
  );
}

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 86_400)
    throw usageError(
      `--timeout ${text}: expected a number of seconds above 0, at most 86400 (a day).`,
    );
  return value;
}

/** Rows as aligned columns, the header first. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

type Run = RouteOutput<'getRun'>;
type Cloud = RouteOutput<'listClouds'>[number];

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('FILE_UNREADABLE', `${file} cannot be read: ${(error as Error).message}.`);
  }
}

function describeRun(run: Run): string {
  const lines = [
    `${run.id}  ${run.title}`,
    `state    ${run.terminating && !isFinal(run.state) ? `${run.state} (terminating)` : run.state}`,
    `module   ${run.module.resolved}`,
  ];
  if (run.abort) lines.push(`aborted  ${run.abort.message} (${run.abort.source})`);
  const service = run.params['run:url.service'];
  if (service) lines.push(`service  ${service}`);
  if (run.instances.length > 0)
    lines.push(
      '',
      table(
        ['INSTANCE', 'STATE', 'COMPLETED'],
        run.instances.map((instance) => [
          instance.name,
          instance.error ? `${instance.state}: ${instance.error}` : instance.state,
          instance.completed.join(', ') || '—',
        ]),
      ),
    );
  return lines.join('\n');
}

/**
 * Waits, on the box's event stream, until the run is in one of `states` (or has ended); answers
 * the run as it then is.
 */
async function waitFor(
  target: Target,
  id: string,
  states: readonly RunState[],
  timeoutSeconds: number,
): Promise<Run> {
  const arrived = (state: RunState) => states.includes(state) || isFinal(state);
  // The run as the look once the stream was open found it: when that ended the wait, it is the answer.
  let looked: Run | null = null;
  const seen = await followEvents(
    target,
    (event) =>
      event.subject.kind === 'run' &&
      event.subject.id === id &&
      event.type === 'run.state' &&
      arrived(event.data.state as RunState),
    async () => {
      looked = await call(target, 'getRun', { params: { id } });
      return arrived(looked.state);
    },
    timeoutSeconds * 1000,
  );
  const settled = looked as Run | null;
  const run =
    seen && settled && arrived(settled.state)
      ? settled
      : await call(target, 'getRun', { params: { id } });
  if (!seen)
    throw new CliError(
      'TIMEOUT',
      `Run ${id} is still ${run.state} after ${timeoutSeconds} s; it goes on without the CLI (see \`bivouac run ${id}\`).`,
      { state: run.state },
    );
  return run;
}

/**
 * The run as a wait for Ready left it: anything but Ready, or Done after it, is a failure the exit
 * code tells. A run terminated before it was Ready ends Done as well, so its log says which.
 */
async function ready(target: Target, run: Run): Promise<Run> {
  if (run.abort)
    throw new CliError('RUN_ABORTED', `Run ${run.id} aborted: ${run.abort.message}.`, {
      state: run.state,
    });
  const wasReady =
    run.state === 'Ready' ||
    (run.state === 'Done' &&
      (await call(target, 'runLog', { params: { id: run.id } })).some(
        (entry) => entry.action === 'state' && entry.detail.endsWith('→ Ready'),
      ));
  if (!wasReady)
    throw new CliError('RUN_ENDED', `Run ${run.id} ended ${run.state} without being Ready.`, {
      state: run.state,
    });
  return run;
}

async function login(io: Io, path: string, positionals: string[], flags: Flags): Promise<string> {
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

async function logout(path: string): Promise<string> {
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

/** Runs one command line; answers the exit code. Every failure is printed as `CODE: message`. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    let parsed: { values: Flags; positionals: string[] };
    try {
      parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    } catch (error) {
      throw usageError((error as Error).message);
    }
    const { values: flags, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (flags.help) {
      io.out(usage);
      return 0;
    }
    if (!command) throw usageError('Say what to do.');
    const path = configPath(io.env);
    const show = (value: unknown, human: () => string) =>
      io.out(flags.json ? JSON.stringify(value, null, 2) : human());
    const needsOf = (args: string[], count: number, message: string) => {
      if (args.length !== count) throw usageError(`${message}.`);
      return args;
    };
    const needs = (count: number, names: string) =>
      needsOf(rest, count, `${command} needs ${names}`);
    if (command === 'login') {
      io.out(await login(io, path, rest, flags));
      return 0;
    }
    if (command === 'logout') {
      io.out(await logout(path));
      return 0;
    }
    const target = await currentTarget(io.env, path);
    switch (command) {
      case 'apps': {
        const apps = await call(target, 'listApps', { query: {} });
        show(apps, () =>
          table(
            ['APP', 'VERSION', 'TITLE', 'NEEDS'],
            apps.map((app) => [
              app.id,
              app.version,
              app.title,
              app.requires.map((need) => need.image).join(', ') || '—',
            ]),
          ),
        );
        return 0;
      }
      case 'app': {
        const [id] = needs(1, 'the app (see `bivouac apps`)');
        const app = await call(target, 'getApp', { params: { id: id! } });
        show(app, () =>
          [
            `${app.id} ${app.version}  ${app.title}`,
            app.summary,
            ...app.requires.map((need) => `needs the base image ${need.image}: ${need.hint}`),
            '',
            app.form.length === 0
              ? 'Its form asks nothing.'
              : table(
                  ['--param KEY', 'TYPE', 'DEFAULT', 'LABEL'],
                  app.form.map((field) => [
                    field.key,
                    field.sets === 'multiplicity' ? 'instance count' : field.type,
                    field.generate
                      ? '(generated by the box)'
                      : (field.default ?? (field.required ? '(required)' : '—')),
                    field.label,
                  ]),
                ),
          ].join('\n'),
        );
        return 0;
      }
      case 'deploy': {
        const [app] = needs(1, 'the app (see `bivouac apps`)');
        const created = await call(target, 'deployApp', {
          params: { id: app! },
          body: {
            parameters: pairs(flags.param, 'param'),
            placement: pairs(flags.place, 'place'),
            multiplicity: counts(flags.count),
            ...(flags.title ? { title: flags.title } : {}),
          },
        });
        if (!flags.wait) {
          show(
            created,
            () =>
              `Run ${created.id} created (${created.state}); follow it with \`bivouac run ${created.id}\`.`,
          );
          return 0;
        }
        if (!flags.json) io.err(`Run ${created.id} created; waiting for Ready…`);
        const run = await ready(
          target,
          await waitFor(target, created.id, ['Ready'], seconds(flags.timeout, 900)),
        );
        show(run, () => describeRun(run));
        return 0;
      }
      case 'runs': {
        const state = flags.state as RunState | undefined;
        const list = await call(target, 'listRuns', {
          query: {
            limit: 200,
            offset: 0,
            ...(state ? { state } : {}),
            ...(flags.tag ? { tag: flags.tag } : {}),
            ...(flags.text ? { q: flags.text } : {}),
          },
        });
        show(list, () =>
          list.runs.length === 0
            ? 'No runs.'
            : table(
                ['RUN', 'STATE', 'TITLE', 'MODULE', 'STARTED'],
                list.runs.map((run) => [
                  run.id,
                  run.state,
                  run.title,
                  run.module.resolved,
                  run.createdAt,
                ]),
              ),
        );
        return 0;
      }
      case 'run': {
        const [id] = needs(1, 'a run id');
        const run = await call(target, 'getRun', { params: { id: id! } });
        show(run, () => describeRun(run));
        return 0;
      }
      case 'params': {
        const [id] = needs(1, 'a run id');
        const params = await call(target, 'runParams', { params: { id: id! } });
        show(params, () =>
          table(
            ['KEY', 'VALUE'],
            Object.keys(params)
              .sort()
              .map((key) => [key, params[key]!]),
          ),
        );
        return 0;
      }
      case 'terminate': {
        const [id] = needs(1, 'a run id');
        let run = await call(target, 'terminateRun', { params: { id: id! } });
        if (flags.wait) run = await waitFor(target, run.id, [], seconds(flags.timeout, 300));
        show(run, () =>
          isFinal(run.state)
            ? `Run ${run.id} ended: ${run.state}; nothing is left running.`
            : `Run ${run.id} is terminating (${run.state}).`,
        );
        return 0;
      }
      case 'abort': {
        const [id, reason] = needs(2, 'a run id and a reason');
        const run = await call(target, 'abortRun', {
          params: { id: id! },
          body: { reason: reason! },
        });
        show(run, () => `Run ${run.id}: ${run.state}, ${run.abort?.message ?? ''}`);
        return 0;
      }
      case 'scale': {
        const [id, node, count] = needs(3, 'a run id, a node and a count');
        const multiplicity = counts([`${node}=${count}`])[node!]!;
        const run = await call(target, 'scaleRun', {
          params: { id: id! },
          body: { node: node!, multiplicity },
        });
        show(run, () => describeRun(run));
        return 0;
      }
      case 'delete': {
        const [id] = needs(1, 'a run id');
        if (!flags.yes)
          throw usageError(
            `Deleting run ${id} removes it and its log for good; say --yes to go on.`,
          );
        await call(target, 'deleteRun', { params: { id: id! } });
        io.out(flags.json ? JSON.stringify({ deleted: id }) : `Run ${id} deleted.`);
        return 0;
      }
      case 'modules': {
        const [action, ...args] = rest;
        if (action === 'export') {
          const [path] = needsOf(args, 1, 'modules export needs a path');
          const exported = await call(target, 'exportModules', { query: { path: path! } });
          io.out(flags.json ? JSON.stringify(exported, null, 2) : exported.yaml.trimEnd());
          return 0;
        }
        if (action === 'import') {
          const [file] = needsOf(
            args,
            1,
            'modules import needs a YAML file (- for standard input)',
          );
          if (!flags.message)
            throw usageError(
              'modules import needs --message: each module saved gets a version with it.',
            );
          const yaml = file === '-' ? await io.stdin() : await readText(file!);
          const saved = await call(target, 'importModules', {
            body: { yaml, message: flags.message },
          });
          show(saved, () => saved.map((module) => `${module.path}@${module.version}`).join('\n'));
          return 0;
        }
        if (rest.length > 1)
          throw usageError('modules takes at most one path, or export PATH, or import FILE.');
        const modules = await call(target, 'listModules', {
          query: rest[0] ? { under: rest[0] } : {},
        });
        show(modules, () =>
          table(
            ['PATH', 'KIND', 'VERSION'],
            modules.map((module) => [module.path, module.kind, String(module.latestVersion)]),
          ),
        );
        return 0;
      }
      case 'clouds': {
        const [action, ...args] = rest;
        const health = (cloud: Cloud) =>
          cloud.status.reachable
            ? `reachable${cloud.status.latencyMs === null ? '' : `, ${cloud.status.latencyMs} ms`}`
            : `unreachable${cloud.status.lastError ? `: ${cloud.status.lastError}` : ''}`;
        if (action === 'add') {
          const [name, uri] = needsOf(
            args,
            2,
            'clouds add needs a name and a libvirt URI (qemu+ssh://root@host/system)',
          );
          const cloud = await call(target, 'addCloud', {
            body: { name: name!, kind: 'libvirt', config: { uri: uri! } },
          });
          show(
            cloud,
            () =>
              `Cloud ${cloud.id} (${cloud.name}) added${cloud.target ? `; it ${cloud.target.summary}` : ''}: ${health(cloud)}.`,
          );
          return 0;
        }
        if (action === 'test') {
          const [id] = needsOf(args, 1, 'clouds test needs a cloud id');
          const cloud = await call(target, 'testCloud', { params: { id: id! } });
          show(cloud, () => `${cloud.name}: ${health(cloud)}.`);
          return 0;
        }
        if (action === 'remove') {
          const [id] = needsOf(args, 1, 'clouds remove needs a cloud id');
          if (!flags.yes)
            throw usageError(
              `Removing cloud ${id} stops offering it for deployments; say --yes to go on.`,
            );
          await call(target, 'removeCloud', { params: { id: id! } });
          io.out(flags.json ? JSON.stringify({ removed: id }) : `Cloud ${id} removed.`);
          return 0;
        }
        if (action !== undefined)
          throw usageError(`clouds ${action}: expected add, test or remove.`);
        const clouds = await call(target, 'listClouds');
        show(clouds, () =>
          table(
            ['CLOUD', 'NAME', 'KIND', 'HEALTH'],
            clouds.map((cloud) => [cloud.id, cloud.name, cloud.kind, health(cloud)]),
          ),
        );
        return 0;
      }
      default:
        throw usageError(`There is no command ${command}.`);
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.err(`${error.code}: ${error.message}`);
    return error.exitCode;
  }
}

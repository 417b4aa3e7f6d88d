import { parseArgs } from 'node:util';
import { CliError } from './http.ts';

/** What `bivouac --help` prints, and every usage error after its message. */
export const usage = `Usage: bivouac COMMAND [options]

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

/** The options of a command line, as parsed. */
export type Flags = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

/** A usage error (exit code 2): the message, then the usage. */
export function usageError(message: string): CliError {
  return new CliError('USAGE', `${message}\n\n${usage}`, {}, 2);
}

/** A command line's options and its words (the command's name first); any other option is a usage error. */
export function parseCommandLine(argv: string[]): { flags: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { flags: values, positionals };
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

/** `args` when there are exactly `count` of them; else a usage error saying `message`. */
export function exactly(args: string[], count: number, message: string): string[] {
  if (args.length !== count) throw usageError(`${message}.`);
  return args;
}

/** `NAME=VALUE` pairs into a record; `what` names the option in errors. */
export function pairs(items: readonly string[] | undefined, what: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw usageError(`--${what} ${item}: expected NAME=VALUE.`);
    record[item.slice(0, at)] = item.slice(at + 1);
  }
  return record;
}

/** `NODE=N` pairs into instance counts, each a whole number, 0 or more. */
export function counts(items: readonly string[] | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pairs(items, 'count')).map(([node, text]) => {
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0)
        throw usageError(`--count ${node}=${text}: the count must be a whole number, 0 or more.`);
      return [node, value];
    }),
  );
}

/** The seconds --timeout gives (above 0, at most a day), or `fallback` without it. */
export function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 86_400)
    throw usageError(
      `--timeout ${text}: expected a number of seconds above 0, at most 86400 (a day).`,
    );
  return value;
}

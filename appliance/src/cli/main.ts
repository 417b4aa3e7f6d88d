#!/usr/bin/env node
/**
 * `bivouac`: the box from a terminal or a script, over the same REST API as the UI. See
 * `bivouac --help`; commands live in commands.ts.
 */
import { main } from './commands.ts';
import { CliError } from './http.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a password from the terminal without echoing it. */
function prompt(question: string): Promise<string> {
  const input = process.stdin;
  // Raw (no echo, Ctrl-C as a key) before the question shows: what is typed as soon as it shows
  // must not echo, nor reach the terminal driver as a signal.
  input.setRawMode(true);
  process.stderr.write(question);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: CliError) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new CliError('CANCELLED', 'Cancelled.', {}, 130));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

async function password(fromStdin: boolean): Promise<string> {
  if (fromStdin) return (await readStdin()).replace(/\r?\n$/, '');
  if (!process.stdin.isTTY)
    throw new CliError(
      'USAGE',
      'No terminal to ask the password on: pipe it with --password-stdin.',
      {},
      2,
    );
  return prompt('Password: ');
}

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  password,
  stdin: readStdin,
});

import { appCommands } from './app-commands.ts';
import { exactly, parseCommandLine, usage, usageError } from './arguments.ts';
import { cloudCommands } from './cloud-commands.ts';
import { configPath, currentTarget } from './config.ts';
import type { Io } from './context.ts';
import { CliError } from './http.ts';
import { login, logout } from './login-commands.ts';
import { moduleCommands } from './module-commands.ts';
import { runCommands } from './run-commands.ts';

export type { Io } from './context.ts';

/** The commands that talk to a box signed in to, by name (one file per group). */
const commands = new Map(
  Object.entries({ ...appCommands, ...runCommands, ...moduleCommands, ...cloudCommands }),
);

/** Runs one command line; answers the exit code. Every failure is printed as `CODE: message`. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    const { flags, positionals } = parseCommandLine(argv);
    const [command, ...rest] = positionals;
    if (flags.help) {
      io.out(usage);
      return 0;
    }
    if (!command) throw usageError('Say what to do.');
    const path = configPath(io.env);
    if (command === 'login') {
      io.out(await login(io, path, rest, flags));
      return 0;
    }
    if (command === 'logout') {
      io.out(await logout(path));
      return 0;
    }
    const target = await currentTarget(io.env, path);
    const run = commands.get(command);
    if (!run) throw usageError(`There is no command ${command}.`);
    await run({
      io,
      flags,
      args: rest,
      target,
      show: (value, human) => io.out(flags.json ? JSON.stringify(value, null, 2) : human()),
      needs: (count, names) => exactly(rest, count, `${command} needs ${names}`),
    });
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.err(`${error.code}: ${error.message}`);
    return error.exitCode;
  }
}

import type { Flags } from './arguments.ts';
import type { Target } from './http.ts';

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

/** What a command is given: its command line, the box to ask, and how to answer. */
export interface CommandContext {
  io: Io;
  flags: Flags;
  /** The words after the command's name. */
  args: string[];
  target: Target;
  /** Prints `value` as JSON with --json, else in the words `human` gives. */
  show(value: unknown, human: () => string): void;
  /** The words after the command's name when there are `count`, else a usage error naming them. */
  needs(count: number, names: string): string[];
}

/** Commands by the name typed after `bivouac`. */
export type Commands = Record<string, (context: CommandContext) => Promise<void>>;
